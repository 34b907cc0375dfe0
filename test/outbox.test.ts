/**
 * No-loss analytics ingest: tracked events are acknowledged once on disk, delivered to the
 * sandbox Segment in batches through an outage, parked when Segment refuses them as
 * invalid, and delivered after a SIGKILL by the next process. Counted at the sandbox, which
 * keeps one event per messageId.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Registry } from 'prom-client';
import type { Outbox } from '../kit/state/outbox.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { subgraph as analytics } from '../subgraphs/analytics/index.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { AnalyticsConfig } from '../subgraphs/analytics/config.js';
import type { TrackedEvent } from '../subgraphs/analytics/events.js';
import { createSegmentApi } from '../subgraphs/analytics/segment.js';
import { createTrackOutbox } from '../subgraphs/analytics/track-outbox.js';
import { FREE_SANDBOX_PORTS, HAS_REDIS, asGateway, signedFor, startRedis, testResources, until } from './helpers.js';
import { eventMessageId } from '../subgraphs/analytics/events.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let sandbox: Sandbox;
const dirs: string[] = [];
beforeAll(async () => {
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '20' });
});
afterEach(() => sandbox.clearFaults());
afterAll(async () => {
  await sandbox?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-outbox-test-'));
  dirs.push(dir);
  return dir;
};
let n = 0;
const event = (over: Partial<TrackedEvent> = {}): TrackedEvent => ({
  id: `ob-${++n}`,
  userId: 'usr_00001',
  name: 'Outbox',
  occurredAt: new Date().toISOString(),
  properties: {},
  ...over,
});
const ingestedIds = (prefix: string) =>
  sandbox.providers.segment.ingested.map((e) => String(e.properties.$insert_id)).filter((id) => id.startsWith(prefix));
const items = (events: TrackedEvent[]) => events.map((e) => ({ id: e.id, payload: e }));
function outbox(dir: string) {
  const config = AnalyticsConfig.parse({ ...sandbox.env(), OUTBOX_DIR: dir });
  const resources = testResources();
  return Object.assign(createTrackOutbox(config, createSegmentApi(config, resources), resources) as Outbox<TrackedEvent>, {
    registry: resources.registry,
  });
}
/** What the outbox reports at a scrape, as `name{labels}` -> value. */
async function scrape(registry: Registry) {
  const text = await registry.metrics();
  return Object.fromEntries(
    [...text.matchAll(/^(patchbay_outbox_\w+)\{([^}]*)\} (\S+)$/gm)].map(([, name, labels, value]) => [
      `${name}{${(labels ?? '')
        .split(',')
        .filter((label) => !label.startsWith('service='))
        .join(',')}}`,
      Number(value),
    ]),
  );
}

describe('the outbox', () => {
  test('holds events through an outage and delivers each once when Segment is back', async () => {
    sandbox.faults('segment', [{ operation: 'segmentBatch', status: 503 }]);
    const box = outbox(tempDir());
    const events = Array.from({ length: 60 }, () => event({ id: `outage-${++n}` }));
    await box.append(items(events.slice(0, 30)));
    await box.append(items(events.slice(30)));
    // Until a delivery attempt has failed (however slow this machine is): the outage is real.
    let during: Record<string, number> = {};
    await until(async () => ((during = await scrape(box.registry))['patchbay_outbox_failed_attempts_total{outbox="track"}'] ?? 0) > 0, {
      what: 'a failed delivery attempt',
    });
    expect(box.size).toBe(60);
    expect(ingestedIds('outage-')).toHaveLength(0);
    expect(during['patchbay_outbox_pending{outbox="track"}']).toBe(60);
    expect(during['patchbay_outbox_failed_attempts_total{outbox="track"}']).toBeGreaterThan(0);
    sandbox.clearFaults();
    await until(() => box.size === 0);
    expect(new Set(ingestedIds('outage-'))).toEqual(new Set(events.map((e) => e.id)));
    const after = await scrape(box.registry);
    expect(after['patchbay_outbox_pending{outbox="track"}']).toBe(0);
    expect(after['patchbay_outbox_items_total{outbox="track",outcome="delivered"}']).toBe(60);
    await box.close();
  }, 30_000);

  test('an event Segment refuses is parked as a dead letter; the rest of its batch arrives; parked ones replay', async () => {
    const box = outbox(tempDir());
    const sandboxBefore = sandbox.providers.segment.ingested.length;
    // Over Segment's 32 KB per event: the whole batch is refused with 400.
    const huge = event({ id: 'dead-huge', properties: { blob: 'x'.repeat(40 * 1024) } });
    await box.append(items([event({ id: 'dead-ok-1' }), huge, event({ id: 'dead-ok-2' })]));
    await until(() => box.size === 0);
    expect(ingestedIds('dead-')).toEqual(['dead-ok-1', 'dead-ok-2']);
    expect(sandbox.providers.segment.ingested.length - sandboxBefore).toBe(2);
    expect((await box.deadLetters()).map((d) => [d.id, d.reason])).toEqual([['dead-huge', 'rejected by the provider as invalid']]);
    const metrics = await scrape(box.registry);
    expect(metrics['patchbay_outbox_dead_letters{outbox="track"}']).toBe(1);
    expect(metrics['patchbay_outbox_items_total{outbox="track",outcome="parked"}']).toBe(1);
    expect(metrics['patchbay_outbox_items_total{outbox="track",outcome="delivered"}']).toBe(2);
    expect(await box.replayDeadLetters()).toBe(1);
    await until(() => box.size === 0);
    // Still invalid: parked again, nothing lost.
    expect((await box.deadLetters()).map((d) => d.id)).toEqual(['dead-huge']);
    await box.close();
  });

  test('close() delivers what is queued before it returns', async () => {
    const dir = tempDir();
    const box = outbox(dir);
    await box.append(items([event({ id: 'drain-1' }), event({ id: 'drain-2' })]));
    await box.close();
    expect(ingestedIds('drain-')).toEqual(['drain-1', 'drain-2']);
    const reopened = outbox(dir);
    await reopened.ready;
    expect(reopened.size).toBe(0);
  });
});

describe('dead letters through GraphQL (admin)', () => {
  test('refused events are listed, and replayed once the cause is fixed', async () => {
    const service = await startSubgraph(analytics, { ...sandbox.env(), ANALYTICS_PORT: '0', OUTBOX_DIR: tempDir(), LOG_LEVEL: 'silent' });
    try {
      const call = async (query: string, variables?: object, userId = 'usr_admin', scopes = ['admin']) => {
        const body = JSON.stringify({ query, variables });
        const response = await fetch(`${service.url}/graphql`, {
          method: 'POST',
          headers: signedFor({ 'content-type': 'application/json', ...(await asGateway('analytics', userId, ...scopes)) }, body),
          body,
        });
        return (await response.json()) as { data?: Record<string, unknown>; errors?: Array<{ extensions: { code: string } }> };
      };
      sandbox.faults('segment', [{ operation: 'segmentBatch', status: 400 }]);
      const events = [1, 2].map((i) => ({ id: `gql-dead-${i}`, userId: 'usr_00002', name: 'Refused' }));
      await call('mutation($e: [TrackEventInput!]!) { track(events: $e) { accepted } }', { e: events }, 'usr_00002', []);
      const listed = async () =>
        ((await call('{ trackDeadLetters { id userId reason } }')).data?.trackDeadLetters ?? []) as Array<{ id: string }>;
      await until(async () => (await listed()).length === 2);
      expect((await listed()).map((d) => d.id).sort()).toEqual(['gql-dead-1', 'gql-dead-2']);
      expect((await call('{ trackDeadLetters { id } }', undefined, 'usr_00002', [])).errors?.[0]?.extensions.code).toBe('FORBIDDEN');

      sandbox.clearFaults();
      expect((await call('mutation { replayTrackDeadLetters }')).data).toEqual({ replayTrackDeadLetters: 2 });
      const delivered = () =>
        sandbox.providers.segment.ingested.filter((e) =>
          events.some((event) => e.properties.$insert_id === eventMessageId('usr_00002', event.id)),
        );
      await until(() => delivered().length === 2);
      expect(await listed()).toEqual([]);
    } finally {
      await service.close();
    }
  });
});

describe('a SIGKILL mid-outage', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  /** The analytics subgraph as its own process, as deployed; resolves with its URL. */
  function startAnalytics(store: Record<string, string>): Promise<string> {
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-subgraph.ts', 'analytics'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...sandbox.env(), ANALYTICS_PORT: '0', ...store, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    return new Promise((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
        if (match) resolve(match[1]!);
      });
      child!.on('exit', (code) => reject(new Error(`analytics exited (${code}) before listening: ${output}`)));
    });
  }

  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  afterAll(() => {
    redis?.process.kill();
  });
  const stores: Array<[string, () => Promise<Record<string, string>>]> = [
    ['on disk', async () => ({ OUTBOX_DIR: tempDir() })],
    ...(HAS_REDIS
      ? [['in Redis', async () => ({ REDIS_URL: (redis ??= await startRedis()).url })] as [string, () => Promise<Record<string, string>>]]
      : []),
  ];

  test.each(stores)(
    '%s: loses nothing acknowledged; the next process delivers every event, once',
    async (label, makeStore) => {
      const store = await makeStore();
      const prefix = `kill-${label.replace(/\W/g, '')}-`;
      sandbox.faults('segment', [{ operation: 'segmentBatch', status: 503 }]);
      const url = await startAnalytics(store);
      const headers = { 'content-type': 'application/json', ...(await asGateway('analytics', 'usr_00001')) };
      const track = 'mutation($events: [TrackEventInput!]!) { track(events: $events) { accepted } }';
      const ids: string[] = [];
      for (let batch = 0; batch < 4; batch++) {
        const events = Array.from({ length: 25 }, (_, i) => ({ id: `${prefix}${batch}-${i}`, userId: 'usr_00001', name: 'Killed' }));
        const body = JSON.stringify({ query: track, variables: { events } });
        const response = await fetch(`${url}/graphql`, { method: 'POST', headers: signedFor(headers, body), body });
        expect(((await response.json()) as { data: { track: { accepted: number } } }).data.track.accepted).toBe(25);
        ids.push(...events.map((e) => e.id));
      }
      child!.kill('SIGKILL');
      await new Promise((resolve) => child!.once('exit', resolve));
      // Segment keeps each under its user's message id (subgraphs/analytics/events.ts).
      const messageIds = new Set(ids.map((id) => eventMessageId('usr_00001', id)));
      const delivered = () =>
        sandbox.providers.segment.ingested.map((e) => String(e.properties.$insert_id)).filter((id) => messageIds.has(id));
      expect(delivered()).toHaveLength(0);

      sandbox.clearFaults();
      await startAnalytics(store);
      await until(() => delivered().length === ids.length);
      // Every acknowledged event arrived, and exactly once (Segment keeps one per messageId).
      expect(new Set(delivered())).toEqual(messageIds);
      expect(delivered()).toHaveLength(100);
    },
    60_000,
  );
});
