import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { UpstreamError, UpstreamErrorCode } from '../errors.js';

/**
 * What a failure means, defined once and read by every part of the source layer: retry,
 * breaker, failover and metrics (docs/adr/0010).
 */

/**
 * The provider provably did not act on the request: it never reached it (a refused
 * connection, an unknown host), it was never sent (open circuit, full bulkhead, the client-side
 * rate limit or a provider-asked pause), or the provider refused it unprocessed (any 4xx: a
 * throttle, a bad request, bad credentials). After a timeout, a reset connection or a 5xx it
 * may have acted: never provably not sent.
 */
export function provablyNotSent(error: unknown): boolean {
  if (!(error instanceof UpstreamError) || error.cancelled) return false;
  if (error.notSent) return true;
  if (error.status !== undefined) return error.status >= 400 && error.status < 500;
  return error.code === UpstreamErrorCode.CIRCUIT_OPEN || error.code === UpstreamErrorCode.OVERLOADED;
}

/**
 * The failure says the upstream is unwell: a 5xx, a timeout of its own, a connection that
 * failed. Never a 4xx (our request, or a throttle), never our own cancellation (a caller
 * gone, a hedge's loser, the call's deadline cutting an attempt short).
 */
export function countsAgainstBreaker(error: unknown): boolean {
  if (!(error instanceof UpstreamError) || error.cancelled) return false;
  if (error.status !== undefined) return error.status >= 500;
  return error.code === UpstreamErrorCode.UNAVAILABLE || error.code === UpstreamErrorCode.TIMEOUT;
}

/** We stopped waiting, not the upstream that failed: a caller that went away, a hedge's loser, the deadline. */
export const cancelledByUs = (error: unknown): boolean => error instanceof UpstreamError && error.cancelled;

/** Whatever a call's policies threw, as the one typed error a source's callers see. */
export function toUpstreamError(name: string, error: unknown, onBulkheadRejection?: () => void): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof BrokenCircuitError) return new UpstreamError(name, UpstreamErrorCode.CIRCUIT_OPEN, { cause: error, notSent: true });
  if (error instanceof BulkheadRejectedError) {
    onBulkheadRejection?.();
    return new UpstreamError(name, UpstreamErrorCode.OVERLOADED, { cause: error, notSent: true });
  }
  // The call's deadline passed (cockatiel's timeout): we stopped waiting.
  if (error instanceof TaskCancelledError) return new UpstreamError(name, UpstreamErrorCode.TIMEOUT, { cause: error, cancelled: true });
  return new UpstreamError(name, UpstreamErrorCode.UNAVAILABLE, { cause: error });
}
