import { Redis, ReplyError } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { env } from '../process/config.js';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../process/logger.js';

/** Where replicas keep what they must agree on; every process that shares state reads these. */
export const RedisConfig = z.object({
  /** Shared state of the replicas; unset, each process keeps its own (one replica only). */
  REDIS_URL: env.redisUrl(),
  /**
   * How long one Redis command may take. Past it the request that needed it fails
   * STORE_UNAVAILABLE (retryable) instead of hanging on a Redis that is paused or partitioned.
   */
  REDIS_COMMAND_TIMEOUT_MS: env.ms(500),
});
export type RedisConfig = z.infer<typeof RedisConfig>;

export type RedisState = 'ready' | 'connecting' | 'unavailable' | 'closed';

/**
 * One Redis connection of a process, handled like any other dependency: commands time out,
 * failures reach callers as STORE_UNAVAILABLE, connection errors are logged through the
 * process's JSON logger (rate-limited, so an outage does not flood the log), and its state
 * is reported on /readyz and as `patchbay_redis_up`.
 */
export interface RedisConnection {
  readonly client: Redis;
  state(): RedisState;
  /** Runs Redis commands for a store; any failure of them is a StoreUnavailableError. */
  run<T>(commands: (client: Redis) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** At most one connection-error line per window; the next one says how many were left out. */
const ERROR_LOG_WINDOW_MS = 10_000;
const HEARTBEAT_MS = 5_000;

export function connectRedis(url: string, options: { commandTimeoutMs: number; logger: Logger; registry?: Registry }): RedisConnection {
  const { logger } = options;
  const client = new Redis(url, {
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
    // A command waits for at most one reconnect attempt; the command timeout bounds it too.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    lazyConnect: false,
  });
  let failing = false;
  let lastLoggedAt = 0;
  let suppressed = 0;
  // Every error counted, though few are logged: the rate says how hard it is trying to reconnect.
  const errors =
    options.registry &&
    new Counter({
      name: 'patchbay_redis_connection_errors_total',
      help: 'Errors of the Redis connection: each failed connect or reconnect attempt, and each broken connection',
      registers: [options.registry],
    });
  client.on('error', (error: Error & { code?: string }) => {
    failing = true;
    errors?.inc();
    const now = Date.now();
    if (now - lastLoggedAt < ERROR_LOG_WINDOW_MS) {
      suppressed++;
      return;
    }
    logger.warn({ dependency: 'redis', err: error.message, code: error.code, suppressed }, 'redis connection error');
    lastLoggedAt = now;
    suppressed = 0;
  });
  client.on('ready', () => {
    if (failing) logger.info({ dependency: 'redis' }, 'redis connection is back');
    failing = false;
  });
  // A connected Redis can still not answer (paused, overloaded): the last command says so,
  // and a ping every few seconds keeps that current when there is no traffic.
  let answering = true;
  const heartbeat = setInterval(() => {
    if (client.status === 'ready')
      client.ping().then(
        () => (answering = true),
        () => (answering = false),
      );
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const state = (): RedisState => {
    switch (client.status) {
      case 'ready':
        return answering ? 'ready' : 'unavailable';
      case 'end':
        return 'closed';
      case 'connecting':
      case 'connect':
      case 'wait':
        return failing ? 'unavailable' : 'connecting';
      default:
        return 'unavailable';
    }
  };
  if (options.registry) {
    new Gauge({
      name: 'patchbay_redis_up',
      help: 'Whether the process can use its Redis connection (1) or not (0)',
      registers: [options.registry],
      collect() {
        this.set(state() === 'ready' ? 1 : 0);
      },
    });
  }
  return {
    client,
    state,
    async run(commands) {
      try {
        const result = await commands(client);
        answering = true;
        return result;
      } catch (cause) {
        // Redis answered, and refused: a bug of ours (a wrong type, a script error), not an outage.
        if (cause instanceof ReplyError) throw cause;
        answering = false;
        throw new StoreUnavailableError('redis', cause);
      }
    },
    async close() {
      clearInterval(heartbeat);
      await client.quit().catch(() => client.disconnect());
    },
  };
}
