import { LRUCache } from 'lru-cache';
import type { Logger } from '../../kit/process/logger.js';
import { messageOf } from '../../kit/process/caught.js';
import type { EventOf } from '../../kit/state/event-stream.js';
import type { RedisConnection } from '../../kit/state/redis.js';
import type { EventApplier } from '../../kit/subgraph/invalidation.js';
import type { StorageEvents } from './events.js';

/**
 * How long a folder's inventory is kept before it is listed again: the bucket's notifications
 * keep it exact meanwhile; this bounds what a notification lost outside the stream would cost.
 */
const INVENTORY_TTL_MS = 24 * 3_600_000;
/** Objects whose sizes are kept in this process when there is no Redis (about 100 bytes each). */
const MEMORY_OBJECTS = 1_000_000;
/** A folder with more objects than this is summed from its listing each time (one script call must stay small). */
const MAX_KEPT_OBJECTS = 5_000;
const PREFIX = 'patchbay:storage:inventory';

// Applies one object's change to a kept inventory (a folder not kept is left alone: its first
// read lists it). Idempotent, so every replica applying the same event is harmless; moves the
// folder's generation on, so an inventory listed meanwhile is not kept.
// KEYS: inventory, generation; ARGV: 'put'|'delete', object key, size.
const APPLY = `
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ${INVENTORY_TTL_MS})
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'total', tonumber(ARGV[3]) - tonumber(old or '0'))
elseif old then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'total', -tonumber(old))
end
return 1`;

// Keeps a listed inventory unless the folder changed since its listing began.
// KEYS: inventory, generation; ARGV: generation seen, total, then key, size pairs.
const KEEP = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'total', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ${INVENTORY_TTL_MS})
return 1`;

// Forgets a folder's inventory (its next total lists it). KEYS: inventory, generation.
const FORGET = `
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ${INVENTORY_TTL_MS})
redis.call('DEL', KEYS[1])
return 1`;

export interface StoredSize {
  key: string;
  size: number;
}

interface MemoryInventory {
  sizes: Map<string, number>;
  total: number;
}

/**
 * Bytes in each user's folder, kept from the bucket's notifications: listed once (the first
 * time it is asked for), then kept exact by every object created or deleted in it, shared by the
 * replicas in Redis (each folder a hash of its objects' sizes and their total). So a storage
 * total costs no listing after the first, for a day, instead of one every 30 s per user: the
 * admin's user list stops listing a folder per user. A gap in the event stream forgets them all.
 */
export function createFolderUsage({ redis, logger }: { redis?: RedisConnection; logger: Logger }) {
  const memory = new LRUCache<string, MemoryInventory>({
    maxSize: MEMORY_OBJECTS,
    sizeCalculation: (inventory) => inventory.sizes.size + 1,
    ttl: INVENTORY_TTL_MS,
  });
  const generations = new LRUCache<string, number>({ max: 100_000 });
  const keys = (userId: string) => [`${PREFIX}:folder:${userId}`, `${PREFIX}:generation:${userId}`] as const;

  /**
   * The kept totals of some folders, and for those not kept the generation a listing of them
   * starts from (none when Redis cannot say: the listing is then answered, not kept). One round trip.
   */
  async function lookup(userIds: readonly string[]): Promise<{ totals: Map<string, number>; generations: Map<string, string> }> {
    const totals = new Map<string, number>();
    const generationsSeen = new Map<string, string>();
    if (!redis) {
      for (const userId of userIds) {
        const total = memory.get(userId)?.total;
        if (total !== undefined) totals.set(userId, total);
        else generationsSeen.set(userId, String(generations.get(userId) ?? 0));
      }
      return { totals, generations: generationsSeen };
    }
    try {
      const results = await redis.run(async (client) => {
        const pipeline = client.pipeline();
        for (const userId of userIds) {
          const [inventory, generation] = keys(userId);
          pipeline.hget(inventory, 'total');
          pipeline.get(generation);
        }
        return (await pipeline.exec()) ?? [];
      });
      userIds.forEach((userId, i) => {
        const [totalError, total] = results[2 * i] ?? [];
        const [generationError, generation] = results[2 * i + 1] ?? [];
        if (!totalError && total !== null && total !== undefined) totals.set(userId, Number(total));
        else if (!generationError) generationsSeen.set(userId, (generation as string | null) ?? '0');
      });
    } catch (error) {
      logger.debug({ err: messageOf(error) }, 'folder usage: read skipped (Redis)');
    }
    return { totals, generations: generationsSeen };
  }

  async function keep(userId: string, generation: string, objects: readonly StoredSize[], total: number) {
    if (objects.length > MAX_KEPT_OBJECTS) return;
    if (!redis) {
      if (String(generations.get(userId) ?? 0) === generation)
        memory.set(userId, { sizes: new Map(objects.map((o) => [o.key, o.size])), total });
      return;
    }
    try {
      await redis.run((client) => client.eval(KEEP, 2, ...keys(userId), generation, total, ...objects.flatMap((o) => [o.key, o.size])));
    } catch (error) {
      logger.debug({ err: messageOf(error) }, 'folder usage: keep skipped (Redis)');
    }
  }

  async function change(userId: string, operation: 'put' | 'delete', key: string, size = 0) {
    if (!redis) {
      generations.set(userId, (generations.get(userId) ?? 0) + 1);
      const inventory = memory.get(userId);
      if (!inventory) return;
      const old = inventory.sizes.get(key) ?? 0;
      if (operation === 'put') inventory.sizes.set(key, size);
      else inventory.sizes.delete(key);
      inventory.total += (operation === 'put' ? size : 0) - old;
      return;
    }
    await redis.run((client) => client.eval(APPLY, 2, ...keys(userId), operation, key, size));
  }

  async function forget(userId: string) {
    if (!redis) {
      generations.set(userId, (generations.get(userId) ?? 0) + 1);
      memory.delete(userId);
      return;
    }
    await redis.run((client) => client.eval(FORGET, 2, ...keys(userId)));
  }

  const applier: EventApplier<StorageEvents> = {
    async apply(event: EventOf<StorageEvents>) {
      if (event.type === 'StoredObjectCreated') await change(event.data.userId, 'put', event.data.key, event.data.size);
      if (event.type === 'StoredObjectDeleted') await change(event.data.userId, 'delete', event.data.key);
      // An upload may land before its notification: the folder is listed again (as its pages are), so a total asked right after the PUT counts it.
      if (event.type === 'UploadUrlIssued') await forget(event.data.userId);
    },
    async reset() {
      memory.clear();
      generations.clear();
      if (!redis) return;
      await redis.run(async (client) => {
        let cursor = '0';
        do {
          const [next, found] = await client.scan(cursor, 'MATCH', `${PREFIX}:folder:*`, 'COUNT', 1000);
          if (found.length) await client.unlink(...found);
          cursor = next;
        } while (cursor !== '0');
      });
    },
  };

  return {
    /** Applies the storage stream's object events (resources.keepFresh). */
    applier,
    lookup,
    /** Keeps a folder's listing (every object in it, `total` bytes) unless the folder changed since `generation` was looked up. */
    keep,
  };
}
export type FolderUsage = ReturnType<typeof createFolderUsage>;
