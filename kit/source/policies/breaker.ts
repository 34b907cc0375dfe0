import {
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel';
import { countsAgainstBreaker } from '../outcome.js';

/**
 * Opens on a failure rate over a window (with a minimum of calls in it), on a number of
 * failures in a row, or on whichever comes first when both are given: a rate alone never
 * trips under light traffic, a run alone is twitchy under heavy traffic (docs/adr/0004).
 */
export interface BreakerPolicy {
  halfOpenAfterMs: number;
  consecutiveFailures?: number;
  failureRate?: number;
  minimumRequests?: number;
  windowMs?: number;
}

/** What most providers get: half the calls of 10 s (at least 20) failing, or 10 in a row; probe after 5 s. */
export const STANDARD_BREAKER: Readonly<BreakerPolicy> = {
  failureRate: 0.5,
  minimumRequests: 20,
  windowMs: 10_000,
  consecutiveFailures: 10,
  halfOpenAfterMs: 5000,
};

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';
/** The value of patchbay_circuit_breaker_state for each state. */
export const BREAKER_GAUGE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

export function stateLabel(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
    default:
      return 'closed';
  }
}

/** Opens when any of its breakers says so; each sees every outcome. */
export class FirstToOpen implements IBreaker {
  constructor(private readonly breakers: IBreaker[]) {}
  get state(): unknown {
    return this.breakers.map((b) => b.state);
  }
  set state(value: unknown) {
    (value as unknown[]).forEach((s, i) => (this.breakers[i]!.state = s));
  }
  success(state: CircuitState): void {
    for (const b of this.breakers) b.success(state);
  }
  failure(state: CircuitState): boolean {
    return this.breakers.map((b) => b.failure(state)).some(Boolean);
  }
}

export interface BreakerObservers {
  onStateChange?(state: BreakerState): void;
}

/** The breaker a policy declares (cockatiel's), counting only failures of the upstream's health (source/outcome.ts). */
export function buildBreaker(policy: BreakerPolicy | undefined, observers: BreakerObservers = {}): CircuitBreakerPolicy | undefined {
  if (!policy) return undefined;
  const breakers: IBreaker[] = [];
  if (policy.failureRate !== undefined) {
    const windowMs = policy.windowMs ?? 10_000;
    breakers.push(
      new SamplingBreaker({
        threshold: policy.failureRate,
        duration: windowMs,
        minimumRps: (policy.minimumRequests ?? 20) / (windowMs / 1000),
      }),
    );
  }
  if (policy.consecutiveFailures !== undefined) breakers.push(new ConsecutiveBreaker(policy.consecutiveFailures));
  if (breakers.length === 0) throw new Error('a breaker needs failureRate, consecutiveFailures or both');
  const breaker = breakers.length === 1 ? breakers[0]! : new FirstToOpen(breakers);
  const policyOf = circuitBreaker(handleWhen(countsAgainstBreaker), { halfOpenAfter: policy.halfOpenAfterMs, breaker });
  policyOf.onStateChange((state) => observers.onStateChange?.(stateLabel(state)));
  return policyOf;
}
