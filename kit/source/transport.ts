import http from 'node:http';
import https from 'node:https';
import { got, RequestError } from 'got';
import { UpstreamError, UpstreamErrorCode } from '../errors.js';
import { safeUrl, type Logger } from '../process/logger.js';
import type { SourceMetrics } from '../process/metrics.js';
import { messageOf } from '../process/caught.js';
import { SpanKind, SpanStatusCode, context, injectContext, tracer } from '../process/tracing.js';
import { buildResponse, codeForStatus, retryAfterHeaderMs, type UpstreamResponse } from './response.js';
import type { OutgoingRequest, RequestOptions } from './types.js';

/** Errors raised before any byte of the request left: the upstream cannot have acted on it. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface TransportOptions {
  name: string;
  timeoutMs: number;
  /** Connections kept per upstream host (the bulkhead's size, where there is one). */
  maxSockets: number;
  /** Adds signature headers to a request that is ready to go. */
  sign?: (request: OutgoingRequest) => Record<string, string>;
  /** Provider-specific reading of a 429's throttle headers, in ms to wait. Defaults to Retry-After. */
  retryAfterMs?: (response: UpstreamResponse) => number | undefined;
  logger?: Logger;
  metrics?: SourceMetrics;
}

/**
 * One attempt at an upstream, as the chain of policies runs it: the signature, the HTTP call
 * under the per-attempt timeout (got, never retrying on its own: one retry layer), its span
 * and metrics, and its failure as one UpstreamError that says whether the request may have
 * been sent and whether we stopped waiting for it (source/outcome.ts reads those).
 */
export interface Transport {
  attempt(request: RequestOptions, prepared: OutgoingRequest, signal: AbortSignal): Promise<UpstreamResponse>;
  close(): void;
}

export function createTransport(options: TransportOptions): Transport {
  const { name, logger, metrics } = options;
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets: options.maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets: options.maxSockets }),
  };
  const readRetryAfter = options.retryAfterMs ?? retryAfterHeaderMs;

  async function attempt(request: RequestOptions, prepared: OutgoingRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    const { method, url, body } = prepared;
    const headers = { ...prepared.headers };
    if (options.sign) Object.assign(headers, options.sign({ method, url, headers, body }));

    const startedAt = performance.now();
    const labels = { source: name, operation: request.operation };
    const observe = (outcome: string) => {
      metrics?.attemptDuration.observe({ ...labels, outcome }, (performance.now() - startedAt) / 1000);
      metrics?.requests.inc({ ...labels, outcome });
    };
    // The provider's HTTP call, a client span carrying our trace context on to it.
    const span = tracer.startSpan(`HTTP ${method}`, { kind: SpanKind.CLIENT }, context.active());
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': method,
        'server.address': url.hostname,
        'url.full': safeUrl(url),
        'patchbay.source': name,
      });
      injectContext(span, headers);
    }
    let response;
    try {
      response = await got(url, {
        method,
        headers,
        body,
        signal,
        agent,
        retry: { limit: 0 },
        timeout: { request: options.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'buffer',
        decompress: true,
      });
    } catch (cause) {
      // Ours (a caller gone, a hedge lost, the deadline) before got's own timeout: we stopped waiting.
      const cancelled = signal.aborted;
      const timedOut = !cancelled && cause instanceof RequestError && cause.name === 'TimeoutError';
      const notSent = !cancelled && cause instanceof RequestError && NOT_SENT_CODES.has(cause.code);
      const outcome = cancelled ? 'cancelled' : timedOut ? 'timeout' : 'network_error';
      observe(outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
      if (!cancelled)
        logger?.warn({ source: name, operation: request.operation, url: safeUrl(url), err: messageOf(cause) }, 'upstream attempt failed');
      const code = cancelled || timedOut ? UpstreamErrorCode.TIMEOUT : UpstreamErrorCode.UNAVAILABLE;
      throw new UpstreamError(name, code, { cause, cancelled, notSent });
    }
    const status = response.statusCode;
    const result = buildResponse(name, status, response.headers, response.body);
    const ok = (status >= 200 && status < 400) || request.expect?.includes(status);
    span.setAttribute('http.response.status_code', status);
    if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    span.end();
    observe(ok ? 'success' : `http_${Math.floor(status / 100)}xx`);
    if (ok) return result;
    // A provider's own throttle headers mean "wait" only on a 429 (SendGrid sends its reset on
    // every response); a 503 may carry a standard Retry-After.
    const retryAfterMs = status === 429 ? readRetryAfter(result) : status === 503 ? retryAfterHeaderMs(result) : undefined;
    logger?.warn({ source: name, operation: request.operation, url: safeUrl(url), status }, 'upstream answered with an error status');
    throw new UpstreamError(name, codeForStatus(status), { status, retryAfterMs, cause: `HTTP ${status}` });
  }

  return {
    attempt,
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
