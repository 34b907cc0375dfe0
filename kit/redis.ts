import { Redis } from 'ioredis';

/**
 * One Redis connection, with the options every patchbay store wants: a command fails after
 * two reconnect attempts instead of queueing forever, so a Redis outage surfaces as an error
 * of the request that needed it.
 */
export const connectRedis = (url: string): Redis => new Redis(url, { maxRetriesPerRequest: 2 });

export async function disconnectRedis(redis: Redis | undefined): Promise<void> {
  await redis?.quit().catch(() => redis.disconnect());
}
