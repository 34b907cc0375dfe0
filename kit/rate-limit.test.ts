import { describe, expect, test } from '@jest/globals';
import { TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  test('gives its burst at once, then refuses a turn further away than the caller may wait, saying how far', async () => {
    const bucket = new TokenBucket(1, 3);
    const turns = [];
    for (let i = 0; i < 4; i++) turns.push(await bucket.take(0));
    expect(turns.slice(0, 3)).toEqual([{ waitedMs: 0 }, { waitedMs: 0 }, { waitedMs: 0 }]);
    const refused = turns[3] as { refusedForMs: number };
    expect(refused.refusedForMs).toBeGreaterThan(900);
    expect(refused.refusedForMs).toBeLessThanOrEqual(1000);
  });

  test('a refused caller takes nothing: the next one is refused for no longer', async () => {
    const bucket = new TokenBucket(1, 1);
    await bucket.take(0);
    const first = (await bucket.take(0)) as { refusedForMs: number };
    const second = (await bucket.take(0)) as { refusedForMs: number };
    expect(second.refusedForMs).toBeLessThanOrEqual(first.refusedForMs);
  });

  test('a caller that gives up waiting gives its turn back', async () => {
    const bucket = new TokenBucket(10, 1);
    await bucket.take(0);
    const controller = new AbortController();
    const waiting = bucket.take(10_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    // The abandoned turn was returned: the next caller waits one interval, not two.
    const next = (await bucket.take(0)) as { refusedForMs: number };
    expect(next.refusedForMs).toBeLessThanOrEqual(100);
  });
});
