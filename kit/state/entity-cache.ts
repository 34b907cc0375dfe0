import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../process/logger.js';
import { messageOf } from '../process/caught.js';
import { UpstreamError } from '../errors.js';
import { withoutRetries } from '../source/policies/retry.js';
import type { RedisConnection } from './redis.js';

/** How long a tag's generation is kept in Redis: longer than any entry lives, so an entry can always tell it changed. */
const GENERATION_TTL_MS = 24 * 3_600_000;

/** What the cache reports, by cache: made once per registry. */
export function createEntityCacheMetrics(registry: Registry) {
  return {
    lookups: new Counter({
      name: 'patchbay_entity_cache_lookups_total',
      help: 'Entity cache lookups by cache and result: memory (this process), shared (Redis), miss (loaded upstream), stale (served past its freshness because the upstream failed)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
    invalidations: new Counter({
      name: 'patchbay_entity_cache_invalidations_total',
      help: 'Tags invalidated by the event streams, by cache',
      labelNames: ['cache'],
      registers: [registry],
    }),
  };
}
export type EntityCacheMetrics = ReturnType<typeof createEntityCacheMetrics>;

export interface EntityCacheOptions {
  /** The cache's name: `patchbay:cache:<name>:…` in Redis, the `cache` label of its metrics. */
  name: string;
  /** How long an entry is served without asking upstream again (the schema's @cacheControl max age of what it holds). */
  ttlMs: number;
  /**
   * How long past its freshness (or its invalidation) an entry is still answered when loading it
   * again fails on the upstream's side (timeout, 5xx, open breaker, throttled): marked stale. 0: never.
   */
  staleIfErrorMs?: number;
  /** Bytes of entries kept in this process (JSON length). */
  maxBytes: number;
  /** Shared by every replica when given: one warms it for all. */
  redis?: RedisConnection;
  logger: Logger;
  metrics?: EntityCacheMetrics;
}

/** Why and since when an answer is older than its freshness: what the subgraph tells the gateway. */
export interface Staleness {
  /** The cache it came from (`accounts.users`). */
  cache: string;
  /** When it was loaded from upstream (ISO 8601). */
  since: string;
  /** The code of the upstream failure that kept it from being loaded again (`UPSTREAM_UNAVAILABLE`). */
  reason: string;
}

// Values answered stale, by identity: the subgraph's loaders report them for the fields that
// asked (kit/subgraph/staleness.ts). An object served stale is never fresh again (a fresh load
// makes a new one), so its mark holds for as long as it lives.
const staleValues = new WeakMap<object, Staleness>();
/** Whether (and why) a value an entity cache answered is stale. */
export const stalenessOf = (value: unknown): Staleness | undefined =>
  typeof value === 'object' && value !== null ? staleValues.get(value) : undefined;
/** Marks `derived` (built from a stale value) as stale for the same reason. */
export function keepStaleness<T>(derived: T, from: unknown): T {
  const staleness = stalenessOf(from);
  if (staleness && typeof derived === 'object' && derived !== null) staleValues.set(derived, staleness);
  return derived;
}

/** One entry asked for: its key, and the tags whose invalidation makes it stale. */
export interface CacheRequest<Value = unknown> {
  key: string;
  tags: readonly string[];
  /** Whether a kept value answers this request (a shorter page does not answer a longer one); every one by default. */
  answers?: (value: Value) => boolean;
}

export interface EntityCache<Value> {
  /**
   * The entry of `key`: from this process, else from Redis, else loaded by `load` and kept under
   * `tags` (unless one of them is invalidated while it loads: then it is answered, not kept).
   * When the load fails on the upstream's side, an entry within the stale window is answered instead.
   */
  read(key: string, tags: readonly string[], load: () => Promise<Value>, answers?: (value: Value) => boolean): Promise<Value>;
  /** Many entries: those not kept are loaded by one `loadMissing` (a batch), given their positions. */
  readMany(
    requests: readonly CacheRequest[],
    loadMissing: (missing: number[]) => Promise<ReadonlyArray<Value | Error>>,
  ): Promise<Array<Value | Error>>;
  /**
   * Every entry filed under any of the tags is stale from now on, here and in Redis: what they
   * held changed. `version` (the event's id) makes the same invalidation from several replicas one.
   */
  invalidate(tags: readonly string[], version?: string): Promise<void>;
  clear(): void;
}

interface MemoryEntry<Value> {
  value: Value;
  storedAt: number;
  /** The local clock when its load began: a tag invalidated after it makes it stale. */
  stamp: number;
  tags: readonly string[];
}

interface SharedEntry<Value> {
  value: Value;
  storedAt: number;
  /** Its tags' generations in Redis when its load began: any other value now makes it stale. */
  generations: Array<string | null>;
}

/** A failure another try later may not have: the upstream's (timeout, 5xx, open breaker, throttled), not ours or the caller's. */
const isUpstreamFailure = (error: unknown) => error instanceof UpstreamError && error.retryable && !error.cancelled;

/**
 * Entities (an upstream's answer about one thing, for one user where it is private) kept in this
 * process over Redis, fresh for `ttlMs`, and stale as soon as the event streams say what they hold
 * changed (kit/subgraph/invalidation.ts). Staleness is by generation: each tag has one, an
 * invalidation moves it on, an entry remembers those it was loaded under; so an entry loaded while
 * its tag was invalidated is stale at once, and stale entries stay, for `staleIfErrorMs`, to be
 * answered when the upstream fails. A Redis outage costs the shared tier only.
 */
export function createEntityCache<Value>(options: EntityCacheOptions): EntityCache<Value> {
  const { name, ttlMs, redis, logger } = options;
  const staleIfErrorMs = options.staleIfErrorMs ?? 0;
  const lifeMs = ttlMs + staleIfErrorMs;
  const prefix = `patchbay:cache:${name}`;
  // The local clock of each tag's last invalidation, remembered as long as an entry lives; a
  // generation pushed out early (too many tags) moves the floor, below which every entry is stale.
  let clock = 0;
  let floor = 0;
  const generations = new LRUCache<string, number>({
    max: 200_000,
    ttl: lifeMs,
    dispose: (generation, _tag, reason) => {
      if (reason === 'evict') floor = Math.max(floor, generation);
    },
  });
  const memory = new LRUCache<string, MemoryEntry<Value>>({
    maxSize: options.maxBytes,
    sizeCalculation: (entry) => Math.max(1, JSON.stringify(entry.value).length),
    ttl: lifeMs,
  });
  const count = (result: 'memory' | 'shared' | 'miss' | 'stale', n = 1) => {
    if (n) options.metrics?.lookups.inc({ cache: name, result }, n);
  };
  const invalidatedSince = (stamp: number, tags: readonly string[]) =>
    floor >= stamp || tags.some((tag) => (generations.get(tag) ?? 0) >= stamp);
  const isFresh = (storedAt: number) => Date.now() - storedAt < ttlMs;
  const entryKey = (key: string) => `${prefix}:entry:${key}`;
  const generationKey = (tag: string) => `${prefix}:generation:${tag}`;
  const shared = async <T>(what: string, work: (connection: RedisConnection) => Promise<T>): Promise<T | undefined> => {
    if (!redis) return undefined;
    try {
      return await work(redis);
    } catch (error) {
      logger.debug({ cache: name, err: messageOf(error) }, `entity cache: ${what} skipped (Redis)`);
      return undefined;
    }
  };
  /** Entries and their tags' generations now, in one round trip. */
  const readShared = (requests: ReadonlyArray<CacheRequest<Value>>) =>
    shared('read', (r) =>
      r.run(async (client) => {
        const pipeline = client.pipeline();
        for (const { key, tags } of requests) {
          pipeline.get(entryKey(key));
          pipeline.mget(generationKey('\u0000'), ...tags.map(generationKey));
        }
        const results = (await pipeline.exec()) ?? [];
        return requests.map((_request, i) => {
          const [entryError, entry] = results[2 * i] ?? [];
          const [generationsError, current] = results[2 * i + 1] ?? [];
          if (entryError || generationsError) throw entryError ?? generationsError;
          return {
            entry: entry ? (JSON.parse(entry as string) as SharedEntry<Value>) : undefined,
            current: (current as Array<string | null>).slice(1),
          };
        });
      }),
    );

  async function readMany(
    requests: ReadonlyArray<CacheRequest<Value>>,
    loadMissing: (missing: number[]) => Promise<ReadonlyArray<Value | Error>>,
  ): Promise<Array<Value | Error>> {
    const results: Array<Value | Error | undefined> = new Array(requests.length);
    // What could be answered if loading fails: the newest stale entry of each position.
    const fallbacks = new Map<number, { value: Value; storedAt: number }>();
    const stamp = ++clock;
    let wanted: number[] = [];
    requests.forEach(({ key, tags, answers = () => true }, i) => {
      const here = memory.get(key);
      const usable = here && answers(here.value);
      if (usable && isFresh(here.storedAt) && !invalidatedSince(here.stamp, tags)) results[i] = here.value;
      else {
        if (usable) fallbacks.set(i, here);
        wanted.push(i);
      }
    });
    count('memory', requests.length - wanted.length);
    if (!wanted.length) return results as Array<Value | Error>;

    const stored = await readShared(wanted.map((i) => requests[i]!));
    const seen = new Map<number, Array<string | null>>();
    if (stored) {
      const stillWanted: number[] = [];
      wanted.forEach((i, n) => {
        const { entry, current } = stored[n]!;
        seen.set(i, current);
        const usable = entry && (requests[i]!.answers?.(entry.value) ?? true);
        const unchanged = usable && entry.generations.every((generation, t) => generation === current[t]);
        if (usable && unchanged && isFresh(entry.storedAt)) {
          results[i] = entry.value;
          keepHere(requests[i]!, entry.value, entry.storedAt, stamp);
        } else {
          if (usable && entry.storedAt > (fallbacks.get(i)?.storedAt ?? 0)) fallbacks.set(i, entry);
          stillWanted.push(i);
        }
      });
      count('shared', wanted.length - stillWanted.length);
      wanted = stillWanted;
      if (!wanted.length) return results as Array<Value | Error>;
    }

    count('miss', wanted.length);
    let loaded: ReadonlyArray<Value | Error>;
    try {
      // When every entry asked for has a stale one to fall back on, a failure is answered at once.
      const fallbackForAll = staleIfErrorMs > 0 && wanted.every((i) => fallbacks.has(i));
      loaded = await (fallbackForAll ? withoutRetries(() => loadMissing(wanted)) : loadMissing(wanted));
    } catch (error) {
      loaded = wanted.map(() => (error instanceof Error ? error : new Error(messageOf(error))));
    }
    const storedAt = Date.now();
    const writes: Array<[string, string]> = [];
    wanted.forEach((i, n) => {
      const value = loaded[n];
      if (value instanceof Error) {
        const fallback = fallbacks.get(i);
        if (fallback && isUpstreamFailure(value) && Date.now() - fallback.storedAt < lifeMs) {
          count('stale');
          const reason = (value as UpstreamError).code;
          staleValues.set(fallback.value as object, { cache: name, since: new Date(fallback.storedAt).toISOString(), reason });
          results[i] = fallback.value;
        } else results[i] = value;
        return;
      }
      results[i] = value as Value;
      keepHere(requests[i]!, value as Value, storedAt, stamp);
      const generationsSeen = seen.get(i);
      if (generationsSeen) writes.push([entryKey(requests[i]!.key), JSON.stringify({ value, storedAt, generations: generationsSeen })]);
    });
    if (writes.length) {
      await shared('write', (r) =>
        r.run(async (client) => {
          const pipeline = client.pipeline();
          for (const [key, entry] of writes) pipeline.set(key, entry, 'PX', lifeMs);
          await pipeline.exec();
        }),
      );
    }
    return results as Array<Value | Error>;
  }

  /** Kept in this process unless a tag was invalidated since `stamp` (the load began): then it is answered only. */
  function keepHere({ key, tags }: CacheRequest<Value>, value: Value, storedAt: number, stamp: number) {
    if (value === undefined || invalidatedSince(stamp, tags)) return;
    // Typeless nulls are kept as they are: only objects can carry a stale mark, and null is never marked.
    memory.set(key, { value, storedAt, stamp, tags });
  }

  return {
    readMany,
    async read(key, tags, load, answers) {
      const [result] = await readMany([{ key, tags, ...(answers ? { answers } : {}) }], async () => [await load()]);
      if (result instanceof Error) throw result;
      return result as Value;
    },
    async invalidate(tags, version = `${Date.now()}-${randomUUID()}`) {
      if (!tags.length) return;
      options.metrics?.invalidations.inc({ cache: name }, tags.length);
      const generation = ++clock;
      for (const tag of tags) generations.set(tag, generation);
      await shared('invalidate', (r) =>
        r.run(async (client) => {
          const pipeline = client.pipeline();
          for (const tag of tags) pipeline.set(generationKey(tag), version, 'PX', GENERATION_TTL_MS);
          await pipeline.exec();
        }),
      );
    },
    clear() {
      floor = ++clock;
    },
  };
}
