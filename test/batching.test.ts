/**
 * Batching to provider limits, in-flight deduplication and HTTP caching of upstream calls,
 * through the real sources and loaders against the sandbox; every count is what the
 * provider saw.
 */
import { describe, expect, test } from '@jest/globals';
import type { Sandbox } from '../sandbox/index.js';
import { createLoaders as accountsLoaders } from '../subgraphs/accounts/loaders.js';
import { createAccountsApi } from '../subgraphs/accounts/account-service.js';
import { createDependencies as accountsDependencies } from '../subgraphs/accounts/dependencies.js';
import { AccountsConfig } from '../subgraphs/accounts/config.js';
import { AnalyticsConfig } from '../subgraphs/analytics/config.js';
import { createMixpanelApi } from '../subgraphs/analytics/mixpanel.js';
import { createSegmentApi } from '../subgraphs/analytics/segment.js';
import { EmailConfig } from '../subgraphs/email/config.js';
import { createSendgridApi } from '../subgraphs/email/sendgrid.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { createS3Api } from '../subgraphs/storage/s3.js';
import { testResources, useSandbox } from './helpers.js';

let sandbox: Sandbox;
useSandbox((started) => (sandbox = started));

function newResources() {
  const resources = testResources();
  const { metrics } = resources;
  /** The value of a counter series, 0 when it was never incremented. */
  const count = async (counter: keyof typeof metrics, labels: Record<string, string>) => {
    const values = (await (metrics[counter] as { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }).get()).values;
    return values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l))?.value ?? 0;
  };
  return { resources, count };
}

describe("batches follow the providers' limits", () => {
  test('150 users by id are two `?ids=` calls (100 each at most); unknown ids are null, not errors', async () => {
    const { resources } = newResources();
    const loaders = accountsLoaders(accountsDependencies(AccountsConfig.parse(sandbox.env()), resources));
    const ids = [...sandbox.seed.users.map((u) => u.id), ...Array.from({ length: 100 }, (_, i) => `usr_unknown_${i}`)];
    const users = await loaders.user.loadMany(ids);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(2);
    expect(users.slice(0, 50).map((u) => (u as { id: string }).id)).toEqual(sandbox.seed.users.map((u) => u.id));
    expect(users.slice(50)).toEqual(Array(100).fill(null));
  });

  test('Segment batches are split at 500 KB, and every event arrives once', async () => {
    const { resources } = newResources();
    const segment = createSegmentApi(AnalyticsConfig.parse(sandbox.env()), resources);
    const big = 'x'.repeat(20 * 1024);
    const events = Array.from({ length: 40 }, (_, i) => ({
      id: `split-${i}`,
      userId: 'usr_00001',
      name: 'Upload',
      occurredAt: new Date().toISOString(),
      properties: { note: big },
    }));
    const before = sandbox.providers.segment.ingested.length;
    await segment.batch(events);
    // 40 x 20 KB = 800 KB: two calls under 500 KB each.
    expect(sandbox.calls().segment.segmentBatch).toBe(2);
    expect(sandbox.providers.segment.ingested.length - before).toBe(40);
  });
});

describe('in-flight deduplication', () => {
  test('identical reads in flight at once make one upstream call; distinct ones do not share', async () => {
    const { resources, count } = newResources();
    const accounts = createAccountsApi(AccountsConfig.parse(sandbox.env()), resources);
    sandbox.faults('accounts', [{ latencyMs: 100 }]);
    const same = await Promise.all(Array.from({ length: 10 }, () => accounts.getUsers(['usr_00001', 'usr_00002'])));
    expect(same.every((users) => users.map((u) => u.id).join() === 'usr_00001,usr_00002')).toBe(true);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(1);
    expect(await count('deduplicated', { source: 'accounts.api' })).toBe(9);

    sandbox.resetCalls();
    await Promise.all([accounts.getUsers(['usr_00003']), accounts.getUsers(['usr_00004'])]);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(2);
  });

  test('a failure in flight reaches every caller that joined it, and is not kept', async () => {
    const { resources } = newResources();
    const accounts = createAccountsApi(AccountsConfig.parse(sandbox.env()), resources);
    sandbox.faults('accounts', [{ latencyMs: 50, status: 400 }]);
    const results = await Promise.allSettled([accounts.getUsers(['usr_00005']), accounts.getUsers(['usr_00005'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(1);
    sandbox.clearFaults();
    expect(await accounts.getUsers(['usr_00005'])).toHaveLength(1);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(2);
  });

  test('sends are never shared', async () => {
    const { resources } = newResources();
    const sendgrid = createSendgridApi(EmailConfig.parse(sandbox.env()), resources);
    const mail = { to: 'twice@example.com', subject: 'Hi', text: 'Hello', sendId: 'dedup-1' };
    await Promise.all([sendgrid.send(mail), sendgrid.send(mail)]);
    expect(sandbox.calls().sendgrid.mailSend).toBe(2);
  });
});

describe('HTTP caching', () => {
  test('a response with max-age is reused without a call while fresh', async () => {
    const { resources, count } = newResources();
    const accounts = createAccountsApi(AccountsConfig.parse(sandbox.env()), resources);
    const first = await accounts.getUsers(['usr_00010']);
    const again = await accounts.getUsers(['usr_00010']);
    expect(again).toEqual(first);
    expect(sandbox.calls().accounts.getUsersByIds).toBe(1);
    expect(await count('cacheLookups', { source: 'accounts.api', result: 'hit' })).toBe(1);
  });

  test('a no-cache response is revalidated with its ETag: a 304 reuses the body', async () => {
    const { resources, count } = newResources();
    const accounts = createAccountsApi(AccountsConfig.parse(sandbox.env()), resources);
    const first = await accounts.listUsers(5);
    const again = await accounts.listUsers(5);
    expect(again).toEqual(first);
    expect(sandbox.calls().accounts.listUsers).toBe(2);
    expect(await count('cacheLookups', { source: 'accounts.api', result: 'revalidated' })).toBe(1);
  });

  test('a response that states no freshness is not kept, unless the source gives the call a TTL', async () => {
    const { resources } = newResources();
    const sendgrid = createSendgridApi(EmailConfig.parse(sandbox.env()), resources);
    await sendgrid.messagesTo(['a@example.com'], 10);
    await sendgrid.messagesTo(['a@example.com'], 10);
    expect(sandbox.calls().sendgrid.activityQuery).toBe(2);

    const first = await sendgrid.bouncedAddresses(5);
    const again = await sendgrid.bouncedAddresses(5);
    expect(again).toEqual(first);
    expect(first!.size).toBe(sandbox.seed.bounces.length);
    expect(sandbox.calls().sendgrid.listBounces).toBe(1);
  });

  test('Mixpanel counts are reused for a minute: the same query twice is one call', async () => {
    const { resources } = newResources();
    const mixpanel = createMixpanelApi(AnalyticsConfig.parse(sandbox.env()), resources);
    const first = await mixpanel.counts('signup', '2026-01-01', '2026-01-31', 'day');
    expect(await mixpanel.counts('signup', '2026-01-01', '2026-01-31', 'day')).toEqual(first);
    expect(sandbox.calls().mixpanel.mixpanelSegmentation).toBe(1);
  });

  test('S3 object metadata is fetched once per object version', async () => {
    const { resources } = newResources();
    const s3 = createS3Api(StorageConfig.parse(sandbox.env()), resources);
    const [object] = (await s3.listObjects({ prefix: 'users/usr_00001/', maxKeys: 1 })).objects;
    const metadata = await s3.objectMetadata(object!);
    expect(await s3.objectMetadata(object!)).toEqual(metadata);
    expect(sandbox.calls().s3.HeadObject).toBe(1);
    expect(await resources.registry.getSingleMetricAsString('patchbay_entity_cache_lookups_total')).toMatch(
      /cache="storage.metadata",result="memory"[^}]*} 1$/m,
    );
    // A new version (another ETag) is asked for again.
    await s3.objectMetadata({ ...object!, etag: '"another"' });
    expect(sandbox.calls().s3.HeadObject).toBe(2);
  });
});
