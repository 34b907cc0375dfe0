import { RequestError } from 'got';
import { UpstreamError, UpstreamErrorCode } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Statuses that mean "try again" for requests that are safe to repeat. */
  on: number[];
  /**
   * Statuses after which the provider documents it did not accept the request, so even a
   * non-idempotent request (an email send) may be repeated.
   */
  notAcceptedOn?: number[];
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails RATE_LIMITED. */
  maxRetryAfterMs?: number;
}

/** Errors raised before any byte of the request left: the upstream cannot have acted on it. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Whether a failed attempt may be tried again: always when nothing was sent; never when the
 * provider asks for a wait longer than the cap; otherwise, for a request safe to repeat, on
 * a timeout, a lost connection or a status the policy names, and for one that is not, only
 * on a status after which the provider documents it did not accept the request.
 */
export function shouldRetry(error: unknown, options: { idempotent: boolean; policy: RetryPolicy; deadlineMs: number }): boolean {
  const { idempotent, policy } = options;
  if (!(error instanceof UpstreamError)) return false;
  const { cause } = error;
  if (cause instanceof RequestError && NOT_SENT_CODES.has(cause.code)) return true;
  const cap = policy.maxRetryAfterMs ?? options.deadlineMs;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > cap) return false;
  if (error.status === undefined) {
    return idempotent && (error.code === UpstreamErrorCode.TIMEOUT || error.code === UpstreamErrorCode.UNAVAILABLE);
  }
  if (idempotent) return policy.on.includes(error.status);
  return (policy.notAcceptedOn ?? []).includes(error.status);
}
