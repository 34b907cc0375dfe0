import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../kit/process/logger.js';
import type { RedisConnection } from '../kit/state/redis.js';
import { messageOf } from '../kit/process/caught.js';

/**
 * What APQ registrations may cost, in bytes: what a client sends is kept, so every bound is
 * on bytes, not counts. A registration past a quota is not kept, and its query still runs:
 * APQ is a cache, and the client sends the text again next time.
 */
export interface PersistedQueryLimits {
  /** This process's memory for registrations, least recently used first out. */
  memoryBytes: number;
  /** Bytes one caller may register per window (every replica together with Redis). */
  callerBytes: number;
  /** Bytes all callers together may register per window: what Redis holds is at most twice this. */
  totalBytes: number;
  /** How long a registration lives from when it was made; the window the quotas count in. */
  ttlSeconds: number;
}

export const DEFAULT_PERSISTED_QUERY_LIMITS: PersistedQueryLimits = {
  memoryBytes: 32 * 2 ** 20,
  callerBytes: 2 ** 20,
  totalBytes: 64 * 2 ** 20,
  ttlSeconds: 86_400,
};

const OUTCOMES = ['registered', 'known', 'caller_quota', 'total_quota', 'unavailable'] as const;
export type RegistrationOutcome = (typeof OUTCOMES)[number];
const isOutcome = (value: unknown): value is RegistrationOutcome => OUTCOMES.some((outcome) => outcome === value);

/** Where APQ registrations live: this process, or Redis, where every replica sees them. */
export interface PersistedQueryStore {
  get(hash: string): Promise<string | undefined> | string | undefined;
  /** Keeps `query` under `hash` for `caller`, unless a quota of this window is spent. */
  register(hash: string, query: string, caller: string): Promise<RegistrationOutcome> | RegistrationOutcome;
}

/** A string's bytes in memory (UTF-16) and on the wire (at most 3 per UTF-16 unit as UTF-8). */
const bytesOf = (text: string) => 2 * text.length;

/** The current quota window, by number: quotas start afresh in each. */
const windowOf = (limits: PersistedQueryLimits, now = Date.now()) => Math.floor(now / 1000 / limits.ttlSeconds);

/** Registrations in this process's memory: one replica's APQ, or each replica's copy of what it read from Redis. */
function memoryCache(limits: PersistedQueryLimits) {
  return new LRUCache<string, string>({
    maxSize: limits.memoryBytes,
    sizeCalculation: (query, hash) => bytesOf(query) + bytesOf(hash),
    ttl: limits.ttlSeconds * 1000,
  });
}

export function memoryPersistedQueryStore(limits: PersistedQueryLimits = DEFAULT_PERSISTED_QUERY_LIMITS): PersistedQueryStore {
  const queries = memoryCache(limits);
  // Bytes registered this window, per caller and in all; a caller's count is small, and there
  // are at most as many as fit the total quota with the smallest registration each.
  const registered = new Map<string, number>();
  let total = 0;
  let window = windowOf(limits);
  return {
    get: (hash) => queries.get(hash),
    register(hash, query, caller) {
      if (queries.has(hash)) return 'known';
      const now = windowOf(limits);
      if (now !== window) {
        window = now;
        total = 0;
        registered.clear();
      }
      const bytes = bytesOf(query);
      const callerTotal = registered.get(caller) ?? 0;
      if (callerTotal + bytes > limits.callerBytes) return 'caller_quota';
      if (total + bytes > limits.totalBytes) return 'total_quota';
      registered.set(caller, callerTotal + bytes);
      total += bytes;
      queries.set(hash, query);
      return 'registered';
    },
  };
}

/**
 * A registration in one step: known already, or a quota spent, or kept with its TTL and
 * counted against the caller's and everyone's bytes of this window.
 */
const REGISTER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'known' end
local bytes = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[2]) or '0') + bytes > tonumber(ARGV[4]) then return 'caller_quota' end
if tonumber(redis.call('GET', KEYS[3]) or '0') + bytes > tonumber(ARGV[5]) then return 'total_quota' end
redis.call('INCRBY', KEYS[2], bytes)
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('INCRBY', KEYS[3], bytes)
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 'registered'
`;

/**
 * APQ registrations in Redis, per client, so that a hash registered through one replica runs
 * on every other; a hash names one text forever, so what a replica has read stays in its own
 * memory. A registration lives its TTL from when it was made (a use does not extend it), so
 * Redis holds at most the registrations of two quota windows. While Redis cannot be reached
 * a hash is answered not found (the client then sends the text, which runs), and a
 * registration that cannot be written is dropped: APQ is a cache.
 */
export function redisPersistedQueryStore(
  redis: RedisConnection,
  client: string,
  logger: Logger,
  limits: PersistedQueryLimits = DEFAULT_PERSISTED_QUERY_LIMITS,
): PersistedQueryStore {
  const local = memoryCache(limits);
  // One hash slot per client ({...}), so that the script's keys sit together on a cluster too.
  const prefix = `patchbay:{apq:${client}}`;
  return {
    async get(hash) {
      const known = local.get(hash);
      if (known !== undefined) return known;
      try {
        const query = await redis.run((r) => r.get(`${prefix}:query:${hash}`));
        if (query !== null) local.set(hash, query);
        return query ?? undefined;
      } catch (error) {
        logger.warn({ err: messageOf(error) }, 'APQ store unavailable: answering not found');
        return undefined;
      }
    },
    async register(hash, query, caller) {
      const window = windowOf(limits);
      try {
        const outcome = await redis.run((r) =>
          r.eval(
            REGISTER,
            3,
            `${prefix}:query:${hash}`,
            // A caller's key has a fixed size, whatever the user id a token carries.
            `${prefix}:bytes:${window}:caller:${createHash('sha256').update(caller).digest('base64url')}`,
            `${prefix}:bytes:${window}:total`,
            query,
            bytesOf(query),
            limits.ttlSeconds,
            limits.callerBytes,
            limits.totalBytes,
            limits.ttlSeconds * 2,
          ),
        );
        if (!isOutcome(outcome)) throw new Error(`APQ registration script answered ${String(outcome)}`);
        if (outcome === 'registered' || outcome === 'known') local.set(hash, query);
        return outcome;
      } catch (error) {
        logger.warn({ err: messageOf(error) }, 'APQ registration not shared: Redis unavailable');
        return 'unavailable';
      }
    },
  };
}
