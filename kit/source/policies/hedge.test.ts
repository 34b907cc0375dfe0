import { describe, expect, test } from '@jest/globals';
import { UpstreamError, UpstreamErrorCode } from '../../errors.js';
import { fakeClock } from '../fake-clock.js';
import { buildResponse, type UpstreamResponse } from '../response.js';
import type { CallContext } from '../types.js';
import { hedgePolicy, type HedgePolicy } from './hedge.js';

const answer = (label: string) => buildResponse('test.api', 200, { 'x-label': label }, Buffer.alloc(0));
const context = (idempotent = true, method: 'GET' | 'PUT' = 'GET'): CallContext => ({
  signal: new AbortController().signal,
  call: {
    request: { operation: 'read', path: '/' },
    prepared: { method, url: new URL('http://upstream.test/'), headers: {}, body: undefined },
    idempotent,
    priority: 'interactive',
    deadlineAt: Number.MAX_SAFE_INTEGER,
  },
});

describe('hedged reads', () => {
  test('a read still running past the 95th percentile gets a second attempt; the first answer wins and the loser is cancelled', async () => {
    const clock = fakeClock();
    const outcomes: string[] = [];
    const hedge = hedgePolicy(
      { afterPercentile: 95, maxExtraShare: 0.5, minSamples: 20, minDelayMs: 0 },
      { onHedge: (o) => outcomes.push(o) },
      clock,
    );
    /** An attempt that answers after `ms` of the fake clock, or rejects as cancelled when its signal aborts. */
    const after = (ms: number, label: string) => (patch: { signal: AbortSignal }) =>
      clock.sleep(ms, patch.signal).then(
        () => answer(label),
        () => Promise.reject(new UpstreamError('test.api', UpstreamErrorCode.TIMEOUT, { cancelled: true })),
      );
    // Twenty reads of 10 ms: the 95th percentile is 10 ms.
    for (let i = 0; i < 20; i++) {
      const read = hedge.execute(after(10, 'usual'), context().signal, context());
      await clock.advance(10);
      await read;
    }
    expect(outcomes).toEqual([]);

    // The next one hangs on its first attempt: at 10 ms a second starts and answers in 5.
    const attempts: Array<{ signal: AbortSignal }> = [];
    const slowThenFast = (patch: { signal: AbortSignal }): Promise<UpstreamResponse> => {
      attempts.push(patch);
      return after(attempts.length === 1 ? 10_000 : 5, attempts.length === 1 ? 'slow' : 'hedge')(patch);
    };
    const read = hedge.execute(slowThenFast, context().signal, context());
    await clock.advance(15);
    expect((await read).headers['x-label']).toBe('hedge');
    expect(outcomes).toEqual(['launched', 'won']);
    expect(attempts.map((attempt) => attempt.signal.aborted)).toEqual([true, false]);
  });

  /** A hedge policy counting second attempts, and a call through it whose attempts each take `ms` of the fake clock. */
  const counted = (policy: HedgePolicy) => {
    const clock = fakeClock();
    const hedge = { launched: 0 };
    const policyUnderTest = hedgePolicy(policy, { onHedge: (o) => void (o === 'launched' && hedge.launched++) }, clock);
    const call = (ms: number, idempotent = true, method: 'GET' | 'PUT' = 'GET') => {
      const done = policyUnderTest.execute(
        (patch) => clock.sleep(ms, patch.signal).then(() => answer('x')),
        context(idempotent, method).signal,
        context(idempotent, method),
      );
      return clock.advance(ms).then(() => done);
    };
    return { hedge, call };
  };

  test('never for a call that is not safe to repeat, nor past the share of extra calls', async () => {
    const { hedge, call } = counted({ maxExtraShare: 0.1, minSamples: 5, minDelayMs: 0 });
    for (let i = 0; i < 5; i++) await call(10);
    await call(50, false);
    expect(hedge.launched).toBe(0);
    // Thirty slow reads: at most a tenth of the calls get a second attempt.
    for (let i = 0; i < 30; i++) await call(50);
    expect(hedge.launched).toBeGreaterThan(0);
    expect(hedge.launched).toBeLessThanOrEqual(Math.floor(0.1 * 36));
  });

  test('not sooner than minDelayMs, and never a write, even one safe to repeat', async () => {
    const { hedge, call } = counted({ maxExtraShare: 1, minSamples: 5, minDelayMs: 100 });
    for (let i = 0; i < 5; i++) await call(10);
    await call(90); // past the p95 of 10 ms, short of the floor
    expect(hedge.launched).toBe(0);
    await call(500, true, 'PUT');
    expect(hedge.launched).toBe(0);
    await call(500);
    expect(hedge.launched).toBe(1);
  });

  test('a first attempt that fails before the hedge starts fails the call (the retries decide what next)', async () => {
    const clock = fakeClock();
    const hedge = hedgePolicy({ minSamples: 1 }, {}, clock);
    await hedge.execute(() => answer('warm'), context().signal, context());
    const failure = new UpstreamError('test.api', UpstreamErrorCode.UNAVAILABLE, { status: 503 });
    await expect(hedge.execute(() => Promise.reject(failure), context().signal, context())).rejects.toBe(failure);
  });
});
