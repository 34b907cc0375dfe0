import { describe, expect, test } from '@jest/globals';
import { UpstreamError, UpstreamErrorCode } from '../errors.js';
import { fakeClock } from './fake-clock.js';
import { TokenBucket, type Clock } from './limiter.js';
import { createPauseBoard } from './pauses.js';
import { admissionPolicy } from './policies/admission.js';
import { buildResponse } from './response.js';
import type { CallContext, Priority } from './types.js';

const ok = buildResponse('test.api', 200, {}, Buffer.alloc(0));
const contextAt = (
  clock: Clock,
  priority: Priority = 'interactive',
  deadlineMs = 10_000,
  signal = new AbortController().signal,
): CallContext => ({
  signal,
  call: {
    request: { operation: 'test', path: '/' },
    prepared: { method: 'GET', url: new URL('http://upstream.test/'), headers: {}, body: undefined },
    idempotent: true,
    priority,
    deadlineAt: clock.now() + deadlineMs,
  },
});

describe('TokenBucket', () => {
  test('gives its burst at once, then refuses a turn further away than the caller may wait, saying how far; a refusal takes nothing', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 1, burst: 3 }, clock);
    expect([1, 2, 3].map(() => bucket.reserve('interactive', 0))).toMatchObject([{ waitMs: 0 }, { waitMs: 0 }, { waitMs: 0 }]);
    expect(bucket.reserve('interactive', 0)).toEqual({ refusedForMs: 1000 });
    expect(bucket.reserve('interactive', 0)).toEqual({ refusedForMs: 1000 });
  });

  test('interactive calls queue in order within their wait; background work takes only a whole token nobody waits for', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 1 }, clock);
    expect(bucket.reserve('interactive', 1000)).toMatchObject({ waitMs: 0 });
    expect(bucket.reserve('interactive', 1000)).toMatchObject({ waitMs: 100 });
    expect(bucket.reserve('interactive', 1000)).toMatchObject({ waitMs: 200 });
    // Two interactive calls are waiting: background comes back once the debt is paid and a token is whole.
    expect(bucket.reserve('background', 1000)).toEqual({ retryInMs: 300 });
  });
});

describe('admission: the turn of a source', () => {
  const calls = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('under sustained demand, never more than rate x time + burst; refused ones are told when to come back', async () => {
    const clock = fakeClock();
    const admission = admissionPolicy('test.api', {
      bucket: new TokenBucket({ perSecond: 2, burst: 2 }, clock),
      pauses: createPauseBoard(),
      clock,
    });
    let sent = 0;
    const outcomes = { sent: 0, refused: 0 };
    // 20 callers at once, every second, for 30 seconds, each willing to wait 3 s.
    const running: Array<Promise<unknown>> = [];
    for (const second of calls(30)) {
      for (const _ of calls(20)) {
        running.push(
          admission
            .execute(() => (sent++, ok), new AbortController().signal, contextAt(clock, 'interactive', 3000))
            .then(
              () => outcomes.sent++,
              (error: unknown) => {
                expect(error).toBeInstanceOf(UpstreamError);
                expect((error as UpstreamError).retryAfterMs).toBeGreaterThan(0);
                outcomes.refused++;
              },
            ),
        );
      }
      await clock.advance(1000);
      expect({ second, sent: sent <= 2 * (second + 1) + 2 }).toEqual({ second, sent: true });
    }
    // The last callers may wait their 3 s.
    await clock.advance(3000);
    await Promise.all(running);
    expect(sent).toBeLessThanOrEqual(2 * 33 + 2);
    expect(sent).toBeGreaterThanOrEqual(2 * 30);
    expect(outcomes.sent + outcomes.refused).toBe(600);
  });

  test('a token taken stays spent when the call ends (its signal aborted afterwards); a caller that gives up before its turn gives it back', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ perSecond: 1, burst: 1 }, clock);
    const admission = admissionPolicy('test.api', { bucket, pauses: createPauseBoard(), clock });
    const first = new AbortController();
    await admission.execute(() => ok, first.signal, contextAt(clock, 'interactive', 10_000, first.signal));
    // The call is over; its deadline signal aborts now (cockatiel's timeout does): nothing comes back.
    first.abort();
    expect(bucket.reserve('interactive', 0)).toEqual({ refusedForMs: 1000 });

    const waiting = new AbortController();
    const given = admission.execute(() => ok, waiting.signal, contextAt(clock, 'interactive', 10_000, waiting.signal));
    await clock.advance(10);
    waiting.abort(new Error('the caller went away'));
    await expect(given).rejects.toThrow('the caller went away');
    // Its reservation was given back: the next caller's turn is where the given-up one's was.
    expect(bucket.reserve('interactive', 0)).toEqual({ refusedForMs: 990 });
  });

  test('a 429 that says when to come back pauses the source for every caller until then; past the deadline, RATE_LIMITED at once', async () => {
    const clock = fakeClock();
    const pauses = createPauseBoard();
    const admission = admissionPolicy('test.api', { pauses, clock });
    const throttled = new UpstreamError('test.api', UpstreamErrorCode.RATE_LIMITED, { status: 429, retryAfterMs: 2000 });
    await expect(admission.execute(() => Promise.reject(throttled), new AbortController().signal, contextAt(clock))).rejects.toBe(
      throttled,
    );
    expect(pauses.until('test.api')).toBe(2000);

    let sentAt: number | undefined;
    const waiting = admission.execute(
      () => ((sentAt = clock.now()), ok),
      new AbortController().signal,
      contextAt(clock, 'interactive', 5000),
    );
    await expect(admission.execute(() => ok, new AbortController().signal, contextAt(clock, 'interactive', 1000))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 2000,
      notSent: true,
    });
    await clock.advance(2000);
    await waiting;
    expect(sentAt).toBe(2000);
  });

  test('when short of tokens, interactive calls go before background work, whatever came first', async () => {
    const clock = fakeClock();
    const admission = admissionPolicy('test.api', {
      bucket: new TokenBucket({ perSecond: 10, burst: 1 }, clock),
      pauses: createPauseBoard(),
      clock,
    });
    const order: string[] = [];
    const call = (label: string, priority: Priority) =>
      admission.execute(() => (order.push(label), ok), new AbortController().signal, contextAt(clock, priority, 10_000));
    await call('first', 'interactive');
    const all = [
      call('background 1', 'background'),
      call('background 2', 'background'),
      call('interactive 1', 'interactive'),
      call('interactive 2', 'interactive'),
    ];
    await clock.advance(1000);
    await Promise.all(all);
    expect(order.slice(0, 3)).toEqual(['first', 'interactive 1', 'interactive 2']);
    expect(order.slice(3).sort()).toEqual(['background 1', 'background 2']);
  });
});
