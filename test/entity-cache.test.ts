/**
 * The entity cache (kit/state/entity-cache.ts) in one process and over one Redis shared by two
 * "replicas": an entry is loaded once and then served from memory; another replica is served
 * it from Redis without loading; invalidating a tag drops its entries everywhere; an entry whose
 * tag was invalidated while it loaded is answered but not kept. And in the storage subgraph, kept
 * fresh by its event stream: a warm page of files costs no listing until an upload lands.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLogger } from '../kit/process/logger.js';
import { createEntityCache, type EntityCache } from '../kit/state/entity-cache.js';
import { connectRedis, type RedisConnection } from '../kit/state/redis.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { HAS_REDIS, as, graphql, startRedis, until, type TestRedis } from './helpers.js';

const logger = createLogger('test', 'silent');
let redis: TestRedis | undefined;
const connections: RedisConnection[] = [];
beforeAll(async () => {
  if (HAS_REDIS) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close()));
  redis?.process.kill();
});

let names = 0;
function replicas(shared: boolean): [EntityCache<string>, EntityCache<string>] {
  const name = `test-${++names}`;
  const make = () => {
    const connection = shared ? connectRedis(redis!.url, { commandTimeoutMs: 1000, logger }) : undefined;
    if (connection) connections.push(connection);
    return createEntityCache<string>({ name, ttlMs: 60_000, maxBytes: 2 ** 20, logger, ...(connection ? { redis: connection } : {}) });
  };
  return [make(), make()];
}

/** A load that counts its calls and answers `value`. */
function loader(value: string) {
  const load = async () => {
    load.calls++;
    return value;
  };
  load.calls = 0;
  return load;
}

describe('the entity cache', () => {
  test('an entry is loaded once, then served from memory; invalidating its tag loads it again', async () => {
    const [cache] = replicas(false);
    const load = loader('v1');
    expect(await cache.read('a', ['user:1'], load)).toBe('v1');
    expect(await cache.read('a', ['user:1'], load)).toBe('v1');
    expect(load.calls).toBe(1);
    await cache.invalidate(['user:2']);
    await cache.read('a', ['user:1'], load);
    expect(load.calls).toBe(1);
    await cache.invalidate(['user:1']);
    await cache.read('a', ['user:1'], load);
    expect(load.calls).toBe(2);
  });

  test('an entry whose tag was invalidated while it loaded is answered, not kept', async () => {
    const [cache] = replicas(false);
    let release: (() => void) | undefined;
    const slow = async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return 'before the change';
    };
    const reading = cache.read('a', ['user:1'], slow);
    await until(() => release !== undefined, { what: 'the load to start' });
    await cache.invalidate(['user:1']);
    release!();
    expect(await reading).toBe('before the change');
    const load = loader('after the change');
    expect(await cache.read('a', ['user:1'], load)).toBe('after the change');
    expect(load.calls).toBe(1);
  });

  (HAS_REDIS ? test : test.skip)('through Redis one replica warms it for the other; an invalidation drops it for both', async () => {
    const [a, b] = replicas(true);
    const load = loader('shared');
    expect(await a.read('k', ['user:1'], load)).toBe('shared');
    expect(await b.read('k', ['user:1'], load)).toBe('shared');
    expect(load.calls).toBe(1);
    // Each process drops its own memory as the event reaches it; Redis once is enough.
    await a.invalidate(['user:1']);
    await b.invalidate(['user:1']);
    const fresh = loader('changed');
    expect(await b.read('k', ['user:1'], fresh)).toBe('changed');
    expect(await a.read('k', ['user:1'], fresh)).toBe('changed');
    expect(fresh.calls).toBe(1);
  });
});

describe('the storage subgraph keeps listings fresh by its events', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  });
  afterAll(() => stack?.close());

  test("a warm files page costs no listing; an upload drops that user's pages only, and the next page shows it", async () => {
    const [alice, bob] = stack.sandbox.seed.users;
    const files = async (userId: string) =>
      (
        await graphql(
          `${stack.gateways.web!.url}/graphql`,
          `
            query Files($id: ID!) {
              user(id: $id) {
                files(first: 100) {
                  nodes {
                    name
                  }
                }
                storageUsedBytes
              }
            }
          `,
          { id: userId },
          await as(userId),
        )
      ).body.data as { user: { files: { nodes: Array<{ name: string }> }; storageUsedBytes: number } };
    const listings = () => stack.sandbox.calls().s3.ListObjectsV2 ?? 0;
    const before = await files(alice!.id);
    await files(bob!.id);
    stack.sandbox.resetCalls();
    await files(alice!.id);
    await files(bob!.id);
    expect(listings()).toBe(0);

    stack.sandbox.providers.s3.store({ key: `users/${alice!.id}/fresh.txt`, body: Buffer.from('12345'), contentType: 'text/plain' });
    await until(async () => (await files(alice!.id)).user.files.nodes.some((f) => f.name === 'fresh.txt'), {
      what: 'the new file in the listing',
    });
    expect((await files(alice!.id)).user.storageUsedBytes).toBe(before.user.storageUsedBytes + 5);
    const afterUpload = listings();
    expect(afterUpload).toBeGreaterThanOrEqual(1);
    await files(bob!.id);
    expect(listings()).toBe(afterUpload);
  });
});
