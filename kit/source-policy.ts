import {
  DelegateBackoff,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead,
  handleWhen,
  noop,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { BREAKER_GAUGE, buildBreaker, stateLabel } from './breaker.js';
import { UpstreamError } from './errors.js';
import { shouldRetry, type RetryPolicy } from './retry.js';
import type { SourceOptions } from './source.js';

/**
 * The resilience chain of one source, outermost first: the call's deadline, the retries
 * within it, the breaker, and the bulkhead each attempt passes. Built once per source; a call
 * picks the chain for its kind (safe to repeat or not), it never builds one.
 */
export interface CallPolicies {
  deadlineMs: number;
  breaker: CircuitBreakerPolicy | undefined;
  forCall(idempotent: boolean): IPolicy;
}

export function buildCallPolicies(options: SourceOptions): CallPolicies {
  const { name, logger, metrics } = options;
  const deadlineMs = options.deadlineMs ?? options.timeoutMs * 3;
  const breaker = buildBreaker(options.breaker);
  breaker?.onStateChange((state) => {
    const label = stateLabel(state);
    metrics?.breakerState.set({ source: name }, BREAKER_GAUGE[label]);
    metrics?.breakerTransitions.inc({ source: name, to: label });
    logger?.warn({ source: name, state: label }, 'circuit breaker changed state');
  });
  metrics?.breakerState.set({ source: name }, 0);
  const bulkheadPolicy = options.bulkhead ? bulkhead(options.bulkhead.maxConcurrent, options.bulkhead.maxQueued) : noop;

  const retries = (idempotent: boolean): IPolicy => {
    const policy = options.retry;
    if (!policy || policy.attempts <= 1) return noop;
    const retrying = retry(
      handleWhen((error) => shouldRetry(error, { idempotent, policy, deadlineMs })),
      {
        maxAttempts: policy.attempts - 1,
        backoff: backoffOf(policy, (waitMs) => metrics?.retryAfterWait.observe({ source: name }, waitMs / 1000)),
      },
    );
    retrying.onRetry(({ attempt }) => {
      metrics?.retries.inc({ source: name });
      logger?.debug({ source: name, attempt }, 'retrying upstream call');
    });
    return retrying;
  };
  const deadline = timeout(deadlineMs, TimeoutStrategy.Cooperative);
  const idempotentChain = wrap(deadline, retries(true), breaker ?? noop, bulkheadPolicy);
  const otherChain = wrap(deadline, retries(false), breaker ?? noop, bulkheadPolicy);
  return { deadlineMs, breaker, forCall: (idempotent) => (idempotent ? idempotentChain : otherChain) };
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
