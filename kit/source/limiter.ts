import type { Logger } from '../process/logger.js';
import type { RedisConnection } from '../state/redis.js';
import { messageOf } from '../process/caught.js';
import type { Priority, RateLimitPolicy } from './types.js';

/** Time as the limiters see it (epoch ms) and waits in it; tests give fake ones. */
export interface Clock {
  now(): number;
  /** Waits `ms`; rejects with the signal's reason when it aborts first (and then waits no longer). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const abort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      // The listener goes with the wait: a signal aborted after the turn was taken changes nothing.
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', abort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', abort, { once: true });
    }),
};

/**
 * A bucket's answer: a turn in `waitMs` (reserved: `refund` gives it back if the caller gives
 * up before it), refused (the turn is further away than the caller may wait; nothing taken),
 * or, for background work, come back in `retryInMs` (nothing taken: interactive calls keep
 * their place).
 */
export type Reservation = { waitMs: number; refund(): void } | { refusedForMs: number } | { retryInMs: number };

/** A token bucket: the provider's rate, with `burst` calls at once after a quiet while. */
export interface Bucket {
  reserve(priority: Priority, maxWaitMs: number): Reservation | Promise<Reservation>;
}

/**
 * A token bucket of this process. Interactive calls reserve in order, going into debt (a
 * queue) as far as they may wait; background calls take only a whole token from a bucket in
 * no debt, so when the source is short of tokens, every interactive call goes first.
 */
export class TokenBucket implements Bucket {
  private readonly perMs: number;
  private readonly burst: number;
  private tokens: number;
  private at: number;

  constructor(
    rate: RateLimitPolicy,
    private readonly clock: Clock = systemClock,
  ) {
    this.perMs = rate.perSecond / 1000;
    this.burst = rate.burst ?? Math.max(1, Math.ceil(rate.perSecond));
    this.tokens = this.burst;
    this.at = clock.now();
  }

  reserve(priority: Priority, maxWaitMs: number): Reservation {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * this.perMs);
    this.at = now;
    if (priority === 'background' && this.tokens < 1) return { retryInMs: Math.ceil((1 - this.tokens) / this.perMs) };
    const waitMs = this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perMs;
    if (waitMs > maxWaitMs) return { refusedForMs: Math.ceil(waitMs) };
    this.tokens -= 1;
    return { waitMs, refund: () => void (this.tokens += 1) };
  }
}

/**
 * The same bucket in Redis, by Redis' clock, in one step: one quota for every replica (with N
 * replicas, Mixpanel's 60 queries an hour stay 60, not N x 60). Answers {0, wait} reserved,
 * {1, wait} refused, {2, wait} come back (background; nothing reserved).
 */
const RESERVE = `
local perMs = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * perMs)
if ARGV[4] == 'background' and tokens < 1 then return {2, math.ceil((1 - tokens) / perMs)} end
local waitMs = 0
if tokens < 1 then waitMs = (1 - tokens) / perMs end
if waitMs > maxWait then return {1, math.ceil(waitMs)} end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return {0, math.ceil(waitMs)}`;
const REFUND = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBYFLOAT', KEYS[1], 'tokens', 1) end";

/**
 * A bucket shared by the replicas through Redis. While Redis cannot be reached, each process
 * keeps its share of the quota (the rate and burst divided by the replicas expected to share
 * it): never unlimited, never refusing everything; each such turn is reported.
 */
export class SharedBucket implements Bucket {
  private readonly share: TokenBucket;
  private readonly burst: number;
  private degraded = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly key: string,
    private readonly rate: RateLimitPolicy,
    private readonly options: { replicas: number; logger?: Logger; onFallback?: () => void; clock?: Clock },
  ) {
    this.burst = rate.burst ?? Math.max(1, Math.ceil(rate.perSecond));
    this.share = new TokenBucket(
      { perSecond: rate.perSecond / options.replicas, burst: Math.max(1, Math.floor(this.burst / options.replicas)) },
      options.clock,
    );
  }

  async reserve(priority: Priority, maxWaitMs: number): Promise<Reservation> {
    // Known to be away: no call waits a command timeout to learn it again.
    if (this.redis.state() === 'unavailable') return this.fallBack(priority, maxWaitMs, 'redis unavailable');
    let answer: unknown;
    try {
      answer = await this.redis.run((r) => r.eval(RESERVE, 1, this.key, this.rate.perSecond, this.burst, Math.floor(maxWaitMs), priority));
    } catch (error) {
      return this.fallBack(priority, maxWaitMs, messageOf(error));
    }
    if (this.degraded) this.options.logger?.info({ key: this.key }, 'shared rate limit back in Redis');
    this.degraded = false;
    const [kind, ms] = Array.isArray(answer) ? answer.map(Number) : [NaN, NaN];
    if (kind === 1) return { refusedForMs: ms! };
    if (kind === 2) return { retryInMs: ms! };
    if (kind !== 0 || !Number.isFinite(ms)) throw new Error(`rate limit script answered ${String(answer)}`);
    return { waitMs: ms!, refund: () => void this.redis.run((r) => r.eval(REFUND, 1, this.key)).catch(() => {}) };
  }

  private fallBack(priority: Priority, maxWaitMs: number, why: string): Reservation {
    if (!this.degraded)
      this.options.logger?.warn(
        { key: this.key, replicas: this.options.replicas, err: why },
        'shared rate limit unavailable: this process keeps its share of the quota until Redis is back',
      );
    this.degraded = true;
    this.options.onFallback?.();
    return this.share.reserve(priority, maxWaitMs);
  }
}
