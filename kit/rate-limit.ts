import type { Logger } from './logger.js';
import type { RedisConnection } from './redis.js';
import { messageOf } from './thrown.js';

/** A turn: taken after `waitedMs`, or refused because the wait would have been `refusedForMs`. */
export type Turn = { waitedMs: number } | { refusedForMs: number };

/**
 * Keeps a source under the provider's documented request rate. A caller waits for a token
 * rather than being refused, unless the wait would pass its deadline, in which case it is
 * told how long it would have waited.
 */
export interface RateLimiter {
  take(maxWaitMs: number, signal?: AbortSignal): Promise<Turn>;
}

/** Waits `ms`, or rejects when `signal` aborts first (after `onAbort`). */
function wait(ms: number, signal: AbortSignal | undefined, onAbort: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      onAbort();
      reject(signal.reason);
    });
  });
}

/** A token bucket of this process. */
export class TokenBucket implements RateLimiter {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, Math.ceil(perSecond)),
  ) {
    this.tokens = this.burst;
  }

  private refill(now: number) {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
  }

  /**
   * Takes a token, waiting for it when that fits in `maxWaitMs`. Returns the ms waited, or,
   * when the wait would be longer, takes nothing and returns how long it would have been.
   */
  async take(maxWaitMs: number, signal?: AbortSignal): Promise<Turn> {
    this.refill(performance.now());
    this.tokens -= 1;
    if (this.tokens >= 0) return { waitedMs: 0 };
    const waitMs = (-this.tokens / this.perSecond) * 1000;
    if (waitMs > maxWaitMs) {
      this.tokens += 1;
      return { refusedForMs: Math.ceil(waitMs) };
    }
    // A caller that gives up gives its token back to the ones waiting after it.
    await wait(waitMs, signal, () => (this.tokens += 1));
    return { waitedMs: waitMs };
  }
}

/**
 * The same bucket, reserved atomically in Redis by Redis' clock: one quota for every replica
 * (with N replicas, Mixpanel's 60 queries an hour stay 60, not N x 60). It answers how long to
 * wait (a negative answer: refused, nothing reserved).
 */
const TAKE = `
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
local waitMs = 0
if tokens < 0 then waitMs = -tokens / rate end
if waitMs > maxWait then return -math.ceil(waitMs) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return math.ceil(waitMs)`;
const GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBYFLOAT', KEYS[1], 'tokens', 1) end";

/**
 * A bucket shared by the replicas through Redis. While Redis cannot be reached, each process
 * falls back to a bucket of its own with the same rate (the provider's own throttling is the
 * guard for that while), and says so in the log once per outage.
 */
export class SharedTokenBucket implements RateLimiter {
  private readonly local: TokenBucket;
  private degraded = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly key: string,
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, Math.ceil(perSecond)),
    private readonly logger?: Logger,
  ) {
    this.local = new TokenBucket(perSecond, burst);
  }

  async take(maxWaitMs: number, signal?: AbortSignal): Promise<Turn> {
    let answer: number;
    try {
      answer = Number(await this.redis.run((r) => r.eval(TAKE, 1, this.key, this.perSecond, this.burst, maxWaitMs)));
    } catch (error) {
      if (!this.degraded)
        this.logger?.warn(
          { key: this.key, err: messageOf(error) },
          'shared rate limit unavailable: this process keeps its own until Redis is back',
        );
      this.degraded = true;
      return this.local.take(maxWaitMs, signal);
    }
    this.degraded = false;
    if (answer < 0) return { refusedForMs: -answer };
    if (answer === 0) return { waitedMs: 0 };
    await wait(answer, signal, () => void this.redis.run((r) => r.eval(GIVE_BACK, 1, this.key)).catch(() => {}));
    return { waitedMs: answer };
  }
}
