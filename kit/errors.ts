import { GraphQLError } from 'graphql';

/**
 * The one vocabulary of upstream failures. Each code says what went wrong from the
 * client's point of view; `retryable` says whether asking again later may help.
 */
export const UpstreamErrorCode = {
  TIMEOUT: 'UPSTREAM_TIMEOUT',
  UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  RATE_LIMITED: 'RATE_LIMITED',
  OVERLOADED: 'UPSTREAM_OVERLOADED',
  REJECTED: 'UPSTREAM_REJECTED',
  UNAUTHORIZED: 'UPSTREAM_UNAUTHORIZED',
  NOT_FOUND: 'UPSTREAM_NOT_FOUND',
  BAD_RESPONSE: 'UPSTREAM_BAD_RESPONSE',
} as const;
export type UpstreamErrorCode = (typeof UpstreamErrorCode)[keyof typeof UpstreamErrorCode];

/**
 * The code of a stale mark. A subgraph tells the gateway which fields it answered stale (from a
 * cache, while the upstream failed) as errors of this code at those fields' paths, so that the
 * engine moves them to the client's paths as it does every subgraph error (entities, aliases,
 * lists); the gateway takes them out of `errors` into `extensions.stale`
 * (gateway/plugins/staleness.ts). They never reach a client as errors.
 */
export const STALE_CODE = 'STALE';

const RETRYABLE: ReadonlySet<UpstreamErrorCode> = new Set([
  UpstreamErrorCode.TIMEOUT,
  UpstreamErrorCode.UNAVAILABLE,
  UpstreamErrorCode.CIRCUIT_OPEN,
  UpstreamErrorCode.RATE_LIMITED,
  UpstreamErrorCode.OVERLOADED,
]);

const MESSAGES: Record<UpstreamErrorCode, string> = {
  UPSTREAM_TIMEOUT: 'did not answer in time',
  UPSTREAM_UNAVAILABLE: 'is unavailable',
  CIRCUIT_OPEN: 'is failing; requests are paused for a moment',
  RATE_LIMITED: 'is throttling requests',
  UPSTREAM_OVERLOADED: 'has too many requests in flight',
  UPSTREAM_REJECTED: 'rejected the request',
  UPSTREAM_UNAUTHORIZED: 'refused our credentials',
  UPSTREAM_NOT_FOUND: 'has no such resource',
  UPSTREAM_BAD_RESPONSE: 'sent a response we could not read',
};

export interface UpstreamErrorDetails {
  /** HTTP status the upstream answered with, when it answered. */
  status?: number;
  /** Milliseconds after which a retry may succeed, when the upstream said so. */
  retryAfterMs?: number;
  /** Internal detail for logs only; never sent to clients. */
  cause?: unknown;
  /** The request never left, or was refused before the provider could act (source/outcome.ts). */
  notSent?: boolean;
  /** We stopped waiting (a caller gone, a hedge's loser, the deadline): not the upstream's failure. */
  cancelled?: boolean;
}

/**
 * A failure of one upstream call, safe to show a client: the message names the source
 * and the kind of failure only. Upstream bodies, URLs and credentials stay in `cause`,
 * which is logged (redacted) and never serialised into a response.
 */
export class UpstreamError extends GraphQLError {
  readonly sourceName: string;
  readonly code: UpstreamErrorCode;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;
  readonly notSent: boolean;
  readonly cancelled: boolean;

  constructor(source: string, code: UpstreamErrorCode, details: UpstreamErrorDetails = {}) {
    const retryable = RETRYABLE.has(code);
    super(`Upstream ${source} ${MESSAGES[code]}`, {
      extensions: {
        code,
        source,
        retryable,
        ...(details.status !== undefined ? { upstreamStatus: details.status } : {}),
        ...(details.retryAfterMs !== undefined ? { retryAfterMs: details.retryAfterMs } : {}),
      },
    });
    this.name = 'UpstreamError';
    this.sourceName = source;
    this.code = code;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.retryable = retryable;
    this.notSent = details.notSent ?? false;
    this.cancelled = details.cancelled ?? false;
    Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false });
  }
}

/** A client mistake in arguments: the message is meant for the caller. */
export function badUserInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(field ? { field } : {}) } });
}

/**
 * The store that holds what replicas share (Redis) cannot be used right now. Nothing was
 * done that a retry would repeat, so asking again shortly is safe.
 */
export class StoreUnavailableError extends GraphQLError {
  constructor(store: string, cause?: unknown) {
    super(`The ${store} store is unavailable; try again shortly`, { extensions: { code: 'STORE_UNAVAILABLE', store, retryable: true } });
    this.name = 'StoreUnavailableError';
    Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}
