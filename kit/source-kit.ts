import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { createSourceMetrics, type SourceMetrics } from './metrics.js';
import { connectRedis, type RedisConfig, type RedisConnection } from './redis.js';
import { SharedTokenBucket } from './rate-limit.js';
import { createSource, type Source, type SourceOptions } from './source.js';
import { messageOf } from './thrown.js';

/**
 * What a subgraph builds its sources with. Everything made through it belongs to the
 * subgraph's lifecycle: its state is on /readyz, and it is closed when the subgraph stops
 * (what was registered with onClose first, then the sources, then Redis).
 */
export interface SourceKit {
  logger: Logger;
  metrics: SourceMetrics;
  /** The subgraph's metrics registry, for what reports beside its sources (an outbox). */
  registry: Registry;
  /**
   * An upstream client with its declared policy (kit/source.ts). A `shared` rate limit is held
   * in the process's Redis when it has one (call `redis(config)` first), else in the process.
   */
  source(options: Omit<SourceOptions, 'logger' | 'metrics' | 'rateLimiter'>): Source;
  /** The process's one Redis connection, or undefined when REDIS_URL is not set. */
  redis(config: RedisConfig): RedisConnection | undefined;
  /** Work to finish before the sources close, such as an outbox's last deliveries. */
  onClose(close: () => Promise<void> | void): void;
}

export interface OwnedSourceKit extends SourceKit {
  /** Breaker states and Redis state, for /readyz. */
  health(): { breakers: Record<string, string>; redis?: string };
  close(): Promise<void>;
}

export function createSourceKit(logger: Logger, registry: Registry): OwnedSourceKit {
  const metrics = createSourceMetrics(registry);
  const sources: Source[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  let redis: RedisConnection | undefined;
  return {
    logger,
    metrics,
    registry,
    source(options) {
      const { rateLimit } = options;
      const rateLimiter =
        rateLimit?.shared && redis
          ? new SharedTokenBucket(redis, `patchbay:ratelimit:${options.name}`, rateLimit.perSecond, rateLimit.burst, logger)
          : undefined;
      const source = createSource({ ...options, logger, metrics, rateLimiter });
      sources.push(source);
      return source;
    },
    redis(config) {
      if (!config.REDIS_URL) return undefined;
      redis ??= connectRedis(config.REDIS_URL, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger, registry });
      return redis;
    },
    onClose(close) {
      closers.push(close);
    },
    health() {
      return {
        breakers: Object.fromEntries(sources.map((source) => [source.name, source.breakerState()])),
        ...(redis ? { redis: redis.state() } : {}),
      };
    },
    async close() {
      for (const close of closers.reverse()) {
        await Promise.resolve()
          .then(close)
          .catch((error: unknown) => logger.warn({ err: messageOf(error) }, 'a component failed to close'));
      }
      for (const source of sources) source.close();
      await redis?.close();
    },
  };
}
