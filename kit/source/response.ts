import type http from 'node:http';
import type { ZodType } from 'zod';
import { UpstreamError, UpstreamErrorCode } from '../errors.js';

/** An upstream's answer, as a source returns it. */
export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  /** Parses and validates a JSON body; a body that does not fit is UPSTREAM_BAD_RESPONSE. */
  json<T>(schema: ZodType<T>): T;
}

export function buildResponse(source: string, status: number, headers: http.IncomingHttpHeaders, body: Buffer): UpstreamResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json<T>(schema: ZodType<T>): T {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (cause) {
        throw new UpstreamError(source, UpstreamErrorCode.BAD_RESPONSE, { status, cause });
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        throw new UpstreamError(source, UpstreamErrorCode.BAD_RESPONSE, { status, cause: result.error });
      }
      return result.data;
    },
  };
}

/** The wait a response's Retry-After asks for (seconds or an HTTP date), in ms. */
export function retryAfterHeaderMs(response: UpstreamResponse): number | undefined {
  const value = response.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The typed error of an unexpected status. */
export function codeForStatus(status: number): UpstreamErrorCode {
  if (status === 429) return UpstreamErrorCode.RATE_LIMITED;
  if (status === 401 || status === 403) return UpstreamErrorCode.UNAUTHORIZED;
  if (status === 404) return UpstreamErrorCode.NOT_FOUND;
  if (status === 408 || status === 504) return UpstreamErrorCode.TIMEOUT;
  if (status >= 500) return UpstreamErrorCode.UNAVAILABLE;
  return UpstreamErrorCode.REJECTED;
}
