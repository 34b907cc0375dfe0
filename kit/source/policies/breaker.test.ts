import { describe, expect, test } from '@jest/globals';
import { CircuitState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import { FirstToOpen, STANDARD_BREAKER, buildBreaker } from './breaker.js';

/** A breaker that opens on the failure it is told to. */
class OpensOn implements IBreaker {
  state: unknown = 0;
  failures = 0;
  successes = 0;
  constructor(private readonly at: number) {}
  success(): void {
    this.successes++;
  }
  failure(): boolean {
    return ++this.failures >= this.at;
  }
}

describe('FirstToOpen', () => {
  test('opens on the failure the first of its breakers opens on, and every breaker sees every outcome', () => {
    const early = new OpensOn(3);
    const late = new OpensOn(5);
    const breaker = new FirstToOpen([late, early]);
    breaker.success(CircuitState.Closed);
    const opened = [1, 2, 3, 4].map(() => breaker.failure(CircuitState.Closed));
    expect(opened).toEqual([false, false, true, true]);
    expect([early.failures, late.failures, early.successes, late.successes]).toEqual([4, 4, 1, 1]);
  });

  test('keeps and restores the state of each breaker', () => {
    const run = new ConsecutiveBreaker(2);
    const breaker = new FirstToOpen([run, new OpensOn(99)]);
    breaker.failure(CircuitState.Closed);
    const saved = breaker.state;
    const restored = new FirstToOpen([new ConsecutiveBreaker(2), new OpensOn(99)]);
    restored.state = saved;
    expect(restored.failure(CircuitState.Closed)).toBe(true);
  });
});

describe('the breaker a policy declares', () => {
  test('needs a rule to open on', () => {
    expect(buildBreaker(undefined)).toBeUndefined();
    expect(() => buildBreaker({ halfOpenAfterMs: 1000 })).toThrow(/failureRate, consecutiveFailures or both/);
    expect(buildBreaker(STANDARD_BREAKER)?.state).toBe(CircuitState.Closed);
  });
});
