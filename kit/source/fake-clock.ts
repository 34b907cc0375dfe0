import type { Clock } from './limiter.js';

/** A clock for the policies' unit tests, which moves only when told: waits end as it passes them, in order. */
export function fakeClock() {
  let now = 0;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  const clock: Clock & { advance(ms: number): Promise<void> } = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        const sleeper = { at: now + ms, resolve };
        sleepers.push(sleeper);
        signal?.addEventListener(
          'abort',
          () => {
            sleepers.splice(sleepers.indexOf(sleeper), 1);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    async advance(ms) {
      const until = now + ms;
      // Callers that have yet to reach their wait get there first.
      for (let i = 0; i < 10; i++) await Promise.resolve();
      for (;;) {
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next || next.at > until) break;
        sleepers.shift();
        now = next.at;
        next.resolve();
        // Let the woken caller run on before the clock moves again.
        for (let i = 0; i < 10; i++) await Promise.resolve();
      }
      now = until;
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
  return clock;
}
