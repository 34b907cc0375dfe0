import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../process/logger.js';
import type { RedisConnection } from '../state/redis.js';
import { messageOf } from '../process/caught.js';

/**
 * Waits the providers asked for (a 429 or 503 with Retry-After, or their own reset header),
 * by source: until then, every caller of that source waits its turn instead of calling into
 * the throttle. Shared, every replica hears of a pause (published on one channel) and keeps it
 * in memory: checking costs nothing per call.
 */
export interface PauseBoard {
  /** Until when (epoch ms) `source` is paused; 0 when it is not. */
  until(source: string): number;
  pause(source: string, until: number): void;
  /** From now on, pauses are published to every replica and heard from them, through this Redis. */
  share(redis: RedisConnection, logger: Logger): void;
  close(): Promise<void>;
}

const CHANNEL = 'patchbay:source-pauses';
const Announcement = z.object({ source: z.string(), until: z.number() });

/** This process's pauses, shared with every replica once `share` is called (a replica that misses one learns from the provider's next throttle). */
export function createPauseBoard(): PauseBoard {
  const pauses = new Map<string, number>();
  const note = (source: string, until: number) => void pauses.set(source, Math.max(until, pauses.get(source) ?? 0));
  let shared: { redis: RedisConnection; subscriber: Redis } | undefined;
  return {
    until: (source) => pauses.get(source) ?? 0,
    pause(source, until) {
      note(source, until);
      shared?.redis.run((r) => r.publish(CHANNEL, JSON.stringify({ source, until }))).catch(() => {});
    },
    share(redis, logger) {
      if (shared) return;
      const subscriber = redis.client.duplicate();
      subscriber.on('error', () => {}); // the main connection reports Redis' state and its errors
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          const { source, until } = Announcement.parse(JSON.parse(message));
          note(source, until);
        } catch {
          // not one of ours
        }
      });
      subscriber
        .subscribe(CHANNEL)
        .catch((error: unknown) => logger.warn({ err: messageOf(error) }, 'source pauses not subscribed: this replica pauses alone'));
      shared = { redis, subscriber };
    },
    async close() {
      await shared?.subscriber.quit().catch(() => shared?.subscriber.disconnect());
    },
  };
}
