import { AsyncLocalStorage } from 'node:async_hooks';
import {
  DelegateBackoff,
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
  type IRetryBackoffContext,
  type RetryPolicy as CockatielRetry,
} from 'cockatiel';
import { UpstreamError, UpstreamErrorCode } from '../../errors.js';
import { provablyNotSent } from '../outcome.js';
import type { ChainPolicy } from '../chain.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /**
   * Statuses that mean "try again". A request that is safe to repeat is also tried again after
   * a timeout or a lost connection; one that is not, only when it provably was not sent.
   */
  on: number[];
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails RATE_LIMITED. */
  maxRetryAfterMs?: number;
}

/**
 * Whether a failed attempt may be tried again: never when we cancelled it or the provider asks
 * for a wait longer than the cap; for a request safe to repeat, on a timeout, a lost
 * connection or a status the policy names; for one that is not, only when it provably was
 * not sent (source/outcome.ts) and its status, if any, is one the policy names.
 */
export function shouldRetry(error: unknown, options: { idempotent: boolean; policy: RetryPolicy; deadlineMs: number }): boolean {
  const { idempotent, policy } = options;
  if (!(error instanceof UpstreamError) || error.cancelled || answeredWithoutRetries.getStore()) return false;
  const cap = policy.maxRetryAfterMs ?? options.deadlineMs;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > cap) return false;
  const repeatable = error.status !== undefined ? policy.on.includes(error.status) : error.code === UpstreamErrorCode.UNAVAILABLE;
  if (!idempotent) return repeatable && provablyNotSent(error);
  return repeatable || (error.status === undefined && error.code === UpstreamErrorCode.TIMEOUT);
}

const answeredWithoutRetries = new AsyncLocalStorage<true>();
/**
 * Runs `calls` with no retries: for reads a cache can answer stale if they fail (kit/state/
 * entity-cache.ts), where the stale answer now beats a fresh one after backoff, and a failing
 * provider is not asked twice. The breaker still counts the failure.
 */
export const withoutRetries = <T>(calls: () => Promise<T>): Promise<T> => answeredWithoutRetries.run(true, calls);

export interface RetryObservers {
  onRetry?(attempt: number): void;
  /** A wait the provider asked for (Retry-After and the like), taken exactly. */
  onProviderWait?(waitMs: number): void;
}

/** Exponential with decorrelated jitter (cockatiel's default), except that a provider's Retry-After is waited exactly. */
function backoffOf(policy: RetryPolicy, onProviderWait: (waitMs: number) => void) {
  const exponential = new ExponentialBackoff({ initialDelay: policy.baseDelayMs ?? 100, maxDelay: policy.maxDelayMs ?? 2000 });
  type Context = IRetryBackoffContext<unknown>;
  return new DelegateBackoff<Context, IBackoff<Context> | undefined>((context, state) => {
    const error = 'error' in context.result ? context.result.error : undefined;
    const waitMs = error instanceof UpstreamError ? error.retryAfterMs : undefined;
    if (waitMs !== undefined) {
      onProviderWait(waitMs);
      return { delay: waitMs, state };
    }
    const next = (state ?? exponential).next(context);
    return { delay: next.duration, state: next };
  });
}

/**
 * The retries of a source (cockatiel's, with got's own retries off: one retry layer): by the
 * rule above, each call by whether it is safe to repeat.
 */
export function retryPolicy(policy: RetryPolicy, deadlineMs: number, observers: RetryObservers = {}): ChainPolicy | undefined {
  if (policy.attempts <= 1) return undefined;
  const build = (idempotent: boolean): CockatielRetry => {
    const retrying = retry(
      handleWhen((error) => shouldRetry(error, { idempotent, policy, deadlineMs })),
      { maxAttempts: policy.attempts - 1, backoff: backoffOf(policy, (waitMs) => observers.onProviderWait?.(waitMs)) },
    );
    retrying.onRetry(({ attempt }) => observers.onRetry?.(attempt));
    return retrying;
  };
  const forIdempotent = build(true);
  const forOthers = build(false);
  return { execute: (next, signal, context) => (context.call.idempotent ? forIdempotent : forOthers).execute(next, signal) };
}
