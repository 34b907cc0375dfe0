import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../process/logger.js';
import { createSourceMetrics, type SourceMetrics } from '../process/metrics.js';
import { connectRedis, RedisConfig, type RedisConnection } from '../state/redis.js';
import {
  createEventStream,
  createEventStreamMetrics,
  type EventStream,
  type EventStreamMetrics,
  type EventStreamOptions,
  type EventTypes,
} from '../state/event-stream.js';
import { createEntityCache, createEntityCacheMetrics, type EntityCache, type EntityCacheMetrics } from '../state/entity-cache.js';
import { applyEvents, type EventApplier } from '../subgraph/invalidation.js';
import { env } from '../process/config.js';
import { messageOf } from '../process/caught.js';
import { createSource, type Source, type SourceOptions } from './index.js';
import { SharedBucket } from './limiter.js';
import { createPauseBoard } from './pauses.js';

/** What the resources of a process reads: its Redis, and how many replicas share a quota. */
export const SubgraphResourcesConfig = RedisConfig.extend({
  /**
   * How many replicas share a provider quota declared `shared`: while Redis cannot be reached,
   * each keeps this share of it (never the whole quota each, never none).
   */
  SHARED_QUOTA_REPLICAS: z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(1000).default(2),
  /** Events each domain stream keeps at most (for subscriptions that resume). */
  EVENTS_MAX_LENGTH: z.coerce.number({ error: 'must be a whole number' }).int().min(100).max(10_000_000).default(100_000),
  /** How long events are kept: a client away longer is told to resync. */
  EVENTS_MAX_AGE_MS: env.ms(24 * 3_600_000),
  /** Bytes each entity cache keeps in this process (over Redis with REDIS_URL). */
  ENTITY_CACHE_MAX_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int()
    .min(0)
    .max(2 ** 34)
    .default(32 * 2 ** 20),
  /**
   * How long past its freshness an entity cache's entry is still answered, marked stale, while
   * its upstream fails (timeout, 5xx, open breaker, throttled). 0: a failure is an error at once.
   */
  ENTITY_CACHE_STALE_IF_ERROR_MS: env.ms(5 * 60_000),
});
export type SubgraphResourcesConfig = z.infer<typeof SubgraphResourcesConfig>;

/**
 * What a subgraph builds its sources with. Everything made through it belongs to the
 * subgraph's lifecycle: its state is on /readyz, and it is closed when the subgraph stops
 * (what was registered with onClose first, then the sources, then Redis).
 */
export interface SubgraphResources {
  logger: Logger;
  metrics: SourceMetrics;
  /** The subgraph's metrics registry, for what reports beside its sources (an outbox). */
  registry: Registry;
  /**
   * An upstream client with its declared policy (kit/source). With REDIS_URL, a `shared` rate
   * limit is held in Redis for every replica and the pauses providers ask for are heard by every
   * replica; without it, each process keeps its own.
   */
  source(options: Omit<SourceOptions, 'logger' | 'metrics' | 'bucket' | 'pauses'>): Source;
  /** The process's one Redis connection, or undefined when REDIS_URL is not set. */
  redis(): RedisConnection | undefined;
  /**
   * A domain's event stream (kit/state/event-stream.ts), in Redis with REDIS_URL so that every
   * replica appends to and follows the same one; kept as EVENTS_MAX_LENGTH and EVENTS_MAX_AGE_MS say.
   */
  events<Types extends EventTypes>(name: string, types: Types, topicsOf?: EventStreamOptions<Types>['topicsOf']): EventStream<Types>;
  /**
   * An entity cache (kit/state/entity-cache.ts): in this process, over Redis with REDIS_URL so
   * that one replica warms it for all, ENTITY_CACHE_MAX_BYTES here at most; answered stale for
   * ENTITY_CACHE_STALE_IF_ERROR_MS (unless the cache says otherwise) while its upstream fails.
   */
  entityCache<Value>(name: string, options: { ttlMs: number; staleIfErrorMs?: number }): EntityCache<Value>;
  /**
   * Hands every event of `stream` to each applier, in this process, for the subgraph's life:
   * `invalidating(tagsOf, caches)` makes stale what an event is about (kit/subgraph/invalidation.ts).
   */
  keepFresh<Types extends EventTypes>(stream: EventStream<Types>, appliers: ReadonlyArray<EventApplier<Types>>): void;
  /** Work to finish before the sources close, such as an outbox's last deliveries. */
  onClose(close: () => Promise<void> | void): void;
}

export interface OwnedSubgraphResources extends SubgraphResources {
  /** Breaker states and Redis state, for /readyz. */
  health(): { breakers: Record<string, string>; redis?: string };
  close(): Promise<void>;
}

export function createSubgraphResources(logger: Logger, registry: Registry, config?: SubgraphResourcesConfig): OwnedSubgraphResources {
  const metrics = createSourceMetrics(registry);
  const sources: Source[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  const pauses = createPauseBoard();
  const redis = config?.REDIS_URL
    ? {
        connection: connectRedis(config.REDIS_URL, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger, registry }),
        replicas: config.SHARED_QUOTA_REPLICAS,
      }
    : undefined;
  if (redis) pauses.share(redis.connection, logger);
  let eventMetrics: EventStreamMetrics | undefined;
  let cacheMetrics: EntityCacheMetrics | undefined;
  return {
    logger,
    metrics,
    registry,
    source(options) {
      const { rateLimit } = options;
      const bucket =
        rateLimit?.shared && redis
          ? new SharedBucket(redis.connection, `patchbay:ratelimit:${options.name}`, rateLimit, {
              replicas: redis.replicas,
              logger,
              onFallback: () => metrics.rateLimitFallbacks.inc({ source: options.name }),
            })
          : undefined;
      const source = createSource({ ...options, logger, metrics, bucket, pauses });
      sources.push(source);
      return source;
    },
    redis: () => redis?.connection,
    events(name, types, topicsOf) {
      eventMetrics ??= createEventStreamMetrics(registry);
      const stream = createEventStream({
        metrics: eventMetrics,
        name,
        types,
        ...(topicsOf ? { topicsOf } : {}),
        retention: { maxLength: config?.EVENTS_MAX_LENGTH ?? 100_000, maxAgeMs: config?.EVENTS_MAX_AGE_MS ?? 24 * 3_600_000 },
        logger,
        ...(redis ? { redis: redis.connection } : {}),
      });
      closers.push(() => stream.close());
      return stream;
    },
    entityCache(name, { ttlMs, staleIfErrorMs }) {
      cacheMetrics ??= createEntityCacheMetrics(registry);
      return createEntityCache({
        name,
        ttlMs,
        staleIfErrorMs: staleIfErrorMs ?? config?.ENTITY_CACHE_STALE_IF_ERROR_MS ?? 5 * 60_000,
        maxBytes: config?.ENTITY_CACHE_MAX_BYTES ?? 32 * 2 ** 20,
        logger,
        metrics: cacheMetrics,
        ...(redis ? { redis: redis.connection } : {}),
      });
    },
    keepFresh(stream, appliers) {
      const following = new AbortController();
      const done = applyEvents(stream, appliers, { logger, signal: following.signal });
      closers.push(async () => {
        following.abort();
        await done;
      });
    },
    onClose(close) {
      closers.push(close);
    },
    health() {
      return {
        breakers: Object.fromEntries(sources.map((source) => [source.name, source.breakerState()])),
        ...(redis ? { redis: redis.connection.state() } : {}),
      };
    },
    async close() {
      for (const close of closers.reverse()) {
        await Promise.resolve()
          .then(close)
          .catch((error: unknown) => logger.warn({ err: messageOf(error) }, 'a component failed to close'));
      }
      for (const source of sources) source.close();
      await pauses.close();
      await redis?.connection.close();
    },
  };
}
