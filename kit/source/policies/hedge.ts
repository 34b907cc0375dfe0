import type { ChainPolicy } from '../chain.js';
import { systemClock, type Clock } from '../limiter.js';
import type { UpstreamResponse } from '../response.js';

/**
 * Hedged reads: a GET or HEAD still running after most of its kind would have answered
 * (the source's recent `afterPercentile` latency) gets a second attempt beside it; the first
 * answer wins and the other is cancelled (by us: not a failure of the upstream, and the rate
 * limit's token it took stays spent). Second attempts are capped at `maxExtraShare` of calls.
 */
export interface HedgePolicy {
  /** Percentile of recent attempt times after which a second attempt starts (95: the slowest 5 % may get one). */
  afterPercentile?: number;
  /** Second attempts at most as a share of calls. */
  maxExtraShare?: number;
  /** Attempts timed before any is hedged: the percentile needs them. */
  minSamples?: number;
  /** Never sooner than this: below it a second call costs the provider more than it saves the caller. */
  minDelayMs?: number;
}

export interface HedgeObservers {
  /** A second attempt started; later, which of the two answered first. */
  onHedge?(outcome: 'launched' | 'won' | 'lost'): void;
}

const SAMPLES = 256;
/** Counts of calls and second attempts are halved past this, so the share follows recent traffic. */
const SHARE_WINDOW = 1000;

/** Recent attempt times of a source, and the percentile of them. */
class Latencies {
  private readonly samples: number[] = [];
  private next = 0;
  private cached: { at: number; percentile: number; value: number } | undefined;
  private recorded = 0;

  record(ms: number): void {
    if (this.samples.length < SAMPLES) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    this.recorded++;
  }

  get count(): number {
    return this.samples.length;
  }

  /** Worked out again every few samples, not on every call. */
  percentile(p: number): number {
    if (this.cached && this.cached.percentile === p && this.recorded - this.cached.at < 16) return this.cached.value;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const value = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    this.cached = { at: this.recorded, percentile: p, value };
    return value;
  }
}

export function hedgePolicy(policy: HedgePolicy, observers: HedgeObservers = {}, clock: Clock = systemClock): ChainPolicy {
  const afterPercentile = policy.afterPercentile ?? 95;
  const maxExtraShare = policy.maxExtraShare ?? 0.05;
  const minSamples = policy.minSamples ?? 20;
  const minDelayMs = policy.minDelayMs ?? 50;
  const latencies = new Latencies();
  // Calls and second attempts, recent ones weighing most: the share of extra calls is held on these.
  let calls = 0;
  let extras = 0;
  const countCall = () => {
    if (++calls > SHARE_WINDOW) {
      calls /= 2;
      extras /= 2;
    }
  };

  return {
    async execute(next, signal, context) {
      const startedAt = clock.now();
      const timed = async (run: PromiseLike<UpstreamResponse> | UpstreamResponse): Promise<UpstreamResponse> => {
        const result = await run;
        latencies.record(clock.now() - startedAt);
        return result;
      };
      countCall();
      const { prepared, idempotent } = context.call;
      // Reads only: a write, even one safe to repeat, is never sent twice at once.
      const hedgeable = idempotent && (prepared.method === 'GET' || prepared.method === 'HEAD');
      if (!hedgeable || latencies.count < minSamples) return timed(next({ signal }));
      const delayMs = Math.max(minDelayMs, latencies.percentile(afterPercentile));
      // Each attempt has a signal of its own, aborted with the call's or when the other wins.
      const attempt = () => {
        const controller = new AbortController();
        const abort = () => controller.abort(signal.reason);
        signal.addEventListener('abort', abort, { once: true });
        return { controller, done: () => signal.removeEventListener('abort', abort) };
      };
      const first = attempt();
      return new Promise<UpstreamResponse>((resolve, reject) => {
        let second: ReturnType<typeof attempt> | undefined;
        let settled = false;
        let failures = 0;
        let firstError: unknown;
        const timer = new AbortController();
        clock.sleep(delayMs, timer.signal).then(
          () => {
            if (settled || extras + 1 > maxExtraShare * calls) return;
            second = attempt();
            extras++;
            observers.onHedge?.('launched');
            race(second, true);
          },
          () => {},
        );
        const race = (mine: ReturnType<typeof attempt>, isSecond: boolean) => {
          Promise.resolve(next({ signal: mine.controller.signal })).then(
            (value) => {
              mine.done();
              if (settled) return;
              settled = true;
              timer.abort();
              latencies.record(clock.now() - startedAt);
              if (second) observers.onHedge?.(isSecond ? 'won' : 'lost');
              // The other attempt is cancelled: we stopped waiting for it.
              (isSecond ? first : second)?.controller.abort(new Error('hedged: the other attempt answered first'));
              resolve(value);
            },
            (error: unknown) => {
              mine.done();
              if (settled) return;
              failures++;
              if (!isSecond) firstError = error;
              // The first failed before a second started: the call fails (retries decide what next).
              if (!second) {
                settled = true;
                timer.abort();
                return reject(error);
              }
              if (failures === 2) {
                settled = true;
                reject(firstError ?? error);
              }
            },
          );
        };
        race(first, false);
      });
    },
  };
}
