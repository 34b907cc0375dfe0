/**
 * Storage totals kept from the bucket's notifications (subgraphs/storage/usage.ts), in one process
 * and in Redis shared by two replicas: a folder is listed once, then every object created,
 * overwritten or deleted in it moves its total without a listing; an upload URL handed out has
 * it listed again; a listing overtaken by a change is answered, not kept; a gap in the stream
 * forgets every folder.
 */
import { describe, expect, test } from '@jest/globals';
import { createLogger } from '../kit/process/logger.js';
import type { EventOf } from '../kit/state/event-stream.js';
import type { StorageEvents } from '../subgraphs/storage/events.js';
import { createFolderUsage, type FolderUsage } from '../subgraphs/storage/usage.js';
import { HAS_REDIS, useRedisConnections } from './helpers.js';

const logger = createLogger('test', 'silent');
const redis = useRedisConnections();

let ids = 0;
const created = (userId: string, key: string, size: number): EventOf<StorageEvents> => ({
  id: `${++ids}-0`,
  type: 'StoredObjectCreated',
  data: { key: `users/${userId}/${key}`, userId, size, etag: `"${ids}"`, at: new Date().toISOString(), notificationId: `n${ids}` },
});
const deleted = (userId: string, key: string): EventOf<StorageEvents> => ({
  id: `${++ids}-0`,
  type: 'StoredObjectDeleted',
  data: { key: `users/${userId}/${key}`, userId, at: new Date().toISOString(), notificationId: `n${ids}` },
});

/** The folder's total as the loaders read it: the kept one, else a listing of `objects` (counted), kept. */
async function totalOf(usage: FolderUsage, userId: string, listing: { objects: Array<{ key: string; size: number }>; calls: number }) {
  const { totals, generations } = await usage.lookup([userId]);
  const kept = totals.get(userId);
  if (kept !== undefined) return kept;
  listing.calls++;
  const bytes = listing.objects.reduce((sum, o) => sum + o.size, 0);
  await usage.keep(userId, generations.get(userId)!, listing.objects, bytes);
  return bytes;
}

let users = 0;
function cases(replicas: () => [FolderUsage, FolderUsage]) {
  test('listed once; creations, overwrites and deletions move the total without a listing', async () => {
    const [a, b] = replicas();
    const user = `usr_${++users}`;
    const listing = { objects: [{ key: `users/${user}/a.txt`, size: 10 }], calls: 0 };
    expect(await totalOf(a, user, listing)).toBe(10);
    expect(await totalOf(a, user, listing)).toBe(10);
    expect(listing.calls).toBe(1);
    // Every replica applies every event: the second application changes nothing.
    for (const replica of [a, b]) await replica.applier.apply(created(user, 'b.txt', 5));
    expect(await totalOf(a, user, listing)).toBe(15);
    const overwrite = created(user, 'a.txt', 4);
    for (const replica of [a, b]) await replica.applier.apply(overwrite);
    expect(await totalOf(a, user, listing)).toBe(9);
    const removal = deleted(user, 'b.txt');
    for (const replica of [a, b]) await replica.applier.apply(removal);
    expect(await totalOf(a, user, listing)).toBe(4);
    expect(listing.calls).toBe(1);
    // An upload URL handed out: the object may land before its notification, so the folder is listed again.
    await b.applier.apply({
      id: `${++ids}-0`,
      type: 'UploadUrlIssued',
      data: { key: `users/${user}/c.txt`, userId: user, expiresAt: new Date().toISOString() },
    });
    expect(await totalOf(a, user, listing)).toBe(10);
    expect(listing.calls).toBe(2);
  });

  test('a listing overtaken by a change is answered, not kept; a gap forgets every folder', async () => {
    const [a] = replicas();
    const user = `usr_${++users}`;
    const { generations } = await a.lookup([user]);
    await a.applier.apply(created(user, 'late.txt', 7));
    await a.keep(user, generations.get(user)!, [{ key: `users/${user}/old.txt`, size: 1 }], 1);
    expect((await a.lookup([user])).totals.has(user)).toBe(false);

    const listing = { objects: [{ key: `users/${user}/late.txt`, size: 7 }], calls: 0 };
    expect(await totalOf(a, user, listing)).toBe(7);
    await a.applier.reset();
    expect(await totalOf(a, user, listing)).toBe(7);
    expect(listing.calls).toBe(2);
  });
}

describe('folder usage in one process', () => {
  // Without Redis each process keeps its own: "two replicas" are one here.
  cases(() => {
    const usage = createFolderUsage({ logger });
    return [usage, usage];
  });
});

(HAS_REDIS ? describe : describe.skip)('folder usage shared by replicas in Redis', () => {
  cases(() => {
    const make = () => createFolderUsage({ redis: redis.connect(), logger });
    return [make(), make()];
  });
});
