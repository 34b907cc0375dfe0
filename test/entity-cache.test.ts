/**
 * The entity cache (kit/state/entity-cache.ts) in one process and over one Redis shared by two
 * "replicas": an entry is loaded once and then served from memory; another replica is served
 * it from Redis without loading; invalidating a tag makes its entries stale everywhere; an entry
 * whose tag was invalidated while it loaded is answered but not kept; a stale entry is answered
 * when the upstream fails, within its window only. Through the whole stack: a warm Dashboard
 * costs no upstream call; an upload or a tracked event makes what it changed stale (the storage
 * total is kept current from the upload's notification); with the providers down the Dashboard
 * answers every field, its stale ones marked in `extensions.stale`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLogger } from '../kit/process/logger.js';
import { createEntityCache, stalenessOf, type EntityCache } from '../kit/state/entity-cache.js';
import { UpstreamError, UpstreamErrorCode } from '../kit/errors.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { HAS_REDIS, as, graphql, until, useRedisConnections } from './helpers.js';
import { print } from 'graphql';
import { DashboardDocument } from '../clients/web/__generated__/operations.js';

const logger = createLogger('test', 'silent');
const redis = useRedisConnections();

let names = 0;
function replicas(shared: boolean): [EntityCache<string>, EntityCache<string>] {
  const name = `test-${++names}`;
  const make = () => {
    const connection = shared ? redis.connect() : undefined;
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

  test("a stale entry is answered while its upstream fails, marked, within its window only; a caller's own error is not hidden", async () => {
    const cache = createEntityCache<{ v: string }>({ name: `test-${++names}`, ttlMs: 20, staleIfErrorMs: 200, maxBytes: 2 ** 20, logger });
    await cache.read('a', [], async () => ({ v: 'kept' }));
    await until(
      async () => {
        const value = await cache.read('a', [], () => Promise.reject(new UpstreamError('test.api', UpstreamErrorCode.UNAVAILABLE)));
        return stalenessOf(value) !== undefined;
      },
      { what: 'the entry to go stale' },
    );
    const stale = await cache.read('a', [], () => Promise.reject(new UpstreamError('test.api', UpstreamErrorCode.TIMEOUT)));
    expect(stale).toEqual({ v: 'kept' });
    expect(stalenessOf(stale)).toMatchObject({ cache: expect.stringMatching(/^test-/), reason: 'UPSTREAM_TIMEOUT' });
    await expect(cache.read('a', [], () => Promise.reject(new UpstreamError('test.api', UpstreamErrorCode.NOT_FOUND)))).rejects.toThrow(
      'has no such resource',
    );
    await cache.invalidate(['t']);
    await until(
      async () =>
        cache
          .read('a', [], () => Promise.reject(new UpstreamError('test.api', UpstreamErrorCode.UNAVAILABLE)))
          .then(
            () => false,
            () => true,
          ),
      { what: 'the stale window to end' },
    );
    // Fresh again once the upstream answers, and not marked.
    const fresh = await cache.read('a', [], async () => ({ v: 'new' }));
    expect(stalenessOf(fresh)).toBeUndefined();
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

describe('the Dashboard from the caches: warm, invalidated, and with its providers down', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  });
  afterAll(() => stack?.close());

  const upstreamCalls = () =>
    Object.values(stack.sandbox.calls()).reduce((sum, operations) => sum + Object.values(operations).reduce((a, b) => a + b, 0), 0);
  /** How many tags a subgraph's caches were told to drop so far. */
  const invalidations = async (subgraph: string, cache: string) => {
    const text = await (await fetch(`${stack.subgraphs[subgraph]!.metricsUrl}/metrics`)).text();
    return Number(
      new RegExp(`^patchbay_entity_cache_invalidations_total\\{cache="${cache.replace('.', '\\.')}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ??
        0,
    );
  };

  /** An answer without its download URLs: signed anew for each answer (never kept), so they differ by the second. */
  const withoutUrls = (value: unknown) =>
    JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'downloadUrl' ? undefined : v))) as unknown;

  test('a warm Dashboard costs no upstream call; after an upload and a tracked event, with storage and Mixpanel down, it answers every field, the total current and the stale ones marked', async () => {
    const { seed } = stack.sandbox;
    const user = seed.users.find(
      (u) => seed.files.filter((f) => f.key.startsWith(`users/${u.id}/`)).length >= 5 && seed.messages.some((m) => m.to_email === u.email),
    )!;
    const headers = await as(user.id);
    const dashboard = async () => {
      const response = await fetch(`${stack.gateways.web!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: print(DashboardDocument), variables: { userId: user.id } }),
      });
      return {
        cacheControl: response.headers.get('cache-control'),
        body: (await response.json()) as {
          data: {
            user: { storageUsedBytes: number };
          };
          errors?: unknown[];
          extensions?: { stale?: Array<{ path: Array<string | number>; since: string; reason: string; cache: string }> };
        },
      };
    };
    const cold = await dashboard();
    expect(cold.body.errors).toBeUndefined();
    stack.sandbox.resetCalls();
    const warm = await dashboard();
    expect(upstreamCalls()).toBe(0);
    expect(withoutUrls(warm.body)).toEqual(withoutUrls(cold.body));

    // What changes: a file lands in the user's folder, the user tracks an event.
    const listingsDropped = await invalidations('storage', 'storage.listings');
    const eventsDropped = await invalidations('analytics', 'analytics.recentEvents');
    stack.sandbox.providers.s3.store({ key: `users/${user.id}/while-down.txt`, body: Buffer.from('new'), contentType: 'text/plain' });
    await graphql(
      `${stack.gateways.web!.url}/graphql`,
      'mutation Track($events: [TrackEventInput!]!) { track(events: $events) { accepted } }',
      { events: [{ userId: user.id, name: 'opened_dashboard' }] },
      headers,
    );
    await until(async () => (await invalidations('storage', 'storage.listings')) > listingsDropped, {
      what: "the upload to drop the user's listing",
    });
    await until(async () => (await invalidations('analytics', 'analytics.recentEvents')) > eventsDropped, {
      what: "the tracked event to drop the user's events",
    });

    // Storage and Mixpanel go down: what changed is answered as it was, marked stale, without waiting for retries.
    stack.sandbox.faults('s3', [{ status: 503 }]);
    stack.sandbox.faults('mixpanel', [{ status: 503 }]);
    stack.sandbox.resetCalls();
    for (let i = 0; i < 3; i++) {
      const { body, cacheControl } = await dashboard();
      // A read the cache can answer stale is not retried: one attempt each, then the stale answer.
      if (i === 0) expect([stack.sandbox.calls().s3.ListObjectsV2, stack.sandbox.calls().mixpanel.mixpanelStream]).toEqual([1, 1]);
      expect(body.errors).toBeUndefined();
      // The storage total is kept from the bucket's notifications: current, not stale, with the storage down.
      const grown = { user: { ...cold.body.data.user, storageUsedBytes: cold.body.data.user.storageUsedBytes + 'new'.length } };
      expect(withoutUrls(body.data)).toEqual(withoutUrls(grown));
      expect(body.extensions?.stale?.map((s) => s.path.join('.')).sort()).toEqual(['user.files', 'user.lastSeenAt', 'user.recentEvents']);
      for (const stale of body.extensions!.stale!) {
        expect(['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']).toContain(stale.reason);
        expect(Date.parse(stale.since)).toBeLessThanOrEqual(Date.now());
      }
      expect(cacheControl).toBe('no-store');
    }

    // Back up: fresh, with the new file, unmarked.
    stack.sandbox.clearFaults();
    await until(async () => (await dashboard()).body.extensions?.stale === undefined, { what: 'the providers to be asked again' });
    const recovered = await dashboard();
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data.user.storageUsedBytes).toBe(cold.body.data.user.storageUsedBytes + 'new'.length);
  });
});
