import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../process/logger.js';
import { messageOf } from '../process/caught.js';
import type { RedisConnection } from './redis.js';

/** How long a tag's generation is kept in Redis: longer than any entry lives, so a load can always tell it changed. */
const GENERATION_TTL_MS = 24 * 3_600_000;

// Stores the entry only if no tag of it was invalidated since the load began (its generations
// are as they were), and files it under its tags. KEYS: entry, then (tag set, generation) per
// tag; ARGV: value, ttl, then the generation each tag had.
const SET_IF_CURRENT = `
for i = 2, #KEYS, 2 do
  local generation = redis.call('GET', KEYS[i + 1]) or '0'
  if generation ~= ARGV[2 + i / 2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS, 2 do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
return 1`;

// Drops every entry filed under the tags and moves their generations on. KEYS: (tag set, generation) per tag.
const INVALIDATE = `
for i = 1, #KEYS, 2 do
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[i])) do redis.call('DEL', key) end
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ${GENERATION_TTL_MS})
end
return 1`;

/** What a process's entity caches report, by cache: made once per registry. */
export function createEntityCacheMetrics(registry: Registry) {
  return {
    lookups: new Counter({
      name: 'patchbay_entity_cache_lookups_total',
      help: 'Entity cache lookups by cache and result: memory (this process), shared (Redis), miss (loaded upstream)',
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
  /** Bytes of entries kept in this process (JSON length). */
  maxBytes: number;
  /** Shared by every replica when given: one warms it for all. */
  redis?: RedisConnection;
  logger: Logger;
  metrics?: EntityCacheMetrics;
}

export interface EntityCache<Value> {
  /**
   * The entry of `key`: from this process, else from Redis, else loaded by `load` and kept under
   * `tags` (unless one of them was invalidated while it loaded: then it is answered, not kept).
   */
  read(key: string, tags: readonly string[], load: () => Promise<Value>): Promise<Value>;
  /** Drops every entry filed under any of the tags, here and in Redis: what they held changed. */
  invalidate(tags: readonly string[]): Promise<void>;
  clear(): void;
}

/**
 * Entities (an upstream's answer about one thing, for one user where it is private) kept in this
 * process over Redis, fresh for `ttlMs`, and dropped by tag as soon as the event streams say
 * what they hold changed (kit/subgraph/invalidation.ts). A Redis outage costs the shared tier
 * only: reads go on from this process and upstream.
 */
export function createEntityCache<Value>(options: EntityCacheOptions): EntityCache<Value> {
  const { name, ttlMs, redis, logger } = options;
  const prefix = `patchbay:cache:${name}`;
  const byTag = new Map<string, Set<string>>();
  // When each tag was last invalidated, on one clock: a load that saw another value does not keep
  // what it loaded. Bounded; a forgotten tag reads 0, which no invalidation ever wrote.
  const generations = new LRUCache<string, number>({ max: 100_000 });
  let clock = 0;
  const memory = new LRUCache<string, { value: Value; tags: readonly string[] }>({
    maxSize: options.maxBytes,
    sizeCalculation: (entry) => Math.max(1, JSON.stringify(entry.value).length),
    ttl: ttlMs,
    dispose: (entry, key) => {
      for (const tag of entry.tags) byTag.get(tag)?.delete(key);
    },
  });
  const counted = (result: 'memory' | 'shared' | 'miss') => options.metrics?.lookups.inc({ cache: name, result });
  const localGenerations = (tags: readonly string[]) => tags.map((tag) => generations.get(tag) ?? 0);
  const keepHere = (key: string, value: Value, tags: readonly string[], seen: number[]) => {
    if (localGenerations(tags).some((generation, i) => generation !== seen[i])) return;
    memory.set(key, { value, tags });
    for (const tag of tags) byTag.set(tag, (byTag.get(tag) ?? new Set()).add(key));
  };
  const entryKey = (key: string) => `${prefix}:entry:${key}`;
  const tagKeys = (tag: string) => [`${prefix}:tag:${tag}`, `${prefix}:generation:${tag}`];
  const shared = async <T>(what: string, work: (connection: RedisConnection) => Promise<T>): Promise<T | undefined> => {
    if (!redis) return undefined;
    try {
      return await work(redis);
    } catch (error) {
      logger.debug({ cache: name, err: messageOf(error) }, `entity cache: ${what} skipped (Redis)`);
      return undefined;
    }
  };

  return {
    async read(key, tags, load) {
      const here = memory.get(key);
      if (here) {
        counted('memory');
        return here.value;
      }
      const seen = localGenerations(tags);
      const stored = await shared('read', (r) => r.run((client) => client.get(entryKey(key))));
      if (stored) {
        counted('shared');
        const value = (JSON.parse(stored) as { value: Value }).value;
        keepHere(key, value, tags, seen);
        return value;
      }
      counted('miss');
      const sharedSeen = await shared('generations', (r) =>
        r.run(async (client) => (tags.length ? await client.mget(...tags.map((tag) => tagKeys(tag)[1]!)) : [])),
      );
      const value = await load();
      keepHere(key, value, tags, seen);
      if (sharedSeen) {
        await shared('write', (r) =>
          r.run((client) =>
            client.eval(
              SET_IF_CURRENT,
              1 + 2 * tags.length,
              entryKey(key),
              ...tags.flatMap(tagKeys),
              JSON.stringify({ value }),
              ttlMs,
              ...sharedSeen.map((generation) => generation ?? '0'),
            ),
          ),
        );
      }
      return value;
    },
    async invalidate(tags) {
      if (!tags.length) return;
      options.metrics?.invalidations.inc({ cache: name }, tags.length);
      for (const tag of tags) {
        generations.set(tag, ++clock);
        for (const key of [...(byTag.get(tag) ?? [])]) memory.delete(key);
        byTag.delete(tag);
      }
      await shared('invalidate', (r) => r.run((client) => client.eval(INVALIDATE, 2 * tags.length, ...tags.flatMap(tagKeys))));
    },
    clear() {
      memory.clear();
    },
  };
}
