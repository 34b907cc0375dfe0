/**
 * Redis as a dependency: the email and analytics subgraphs keep idempotency keys, webhook
 * memory and the outbox in a real redis-server that is paused (SIGSTOP), stopped and
 * restarted while clients send mail and track events, retrying what is answered retryable,
 * the way Apollo Client users are told to. Counted at the sandbox: no mail sent twice, no
 * acknowledged event lost, and every failure a typed, retryable answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { print } from 'graphql';
import { TrackDocument } from '../../clients/mobile/__generated__/operations.js';
import { SendEmailDocument } from '../../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../../scripts/stack.js';
import { HAS_REDIS, as, startRedis, until, type TestRedis } from '../helpers.js';
import { bareEnv, startProgram, tsxProgram } from '../../scripts/programs.js';
import { eventMessageId } from '../../subgraphs/analytics/events.js';

if (!HAS_REDIS) console.warn('redis-server not found: the Redis outage tests are skipped (.ci/run installs it)');
const describeWithRedis = HAS_REDIS ? describe : describe.skip;

let redis: TestRedis;
let stack: Stack;
let dir: string;
let headers: Record<string, string>;
/** A client's own pause: between its requests, and before it asks again. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  if (!HAS_REDIS) return;
  dir = mkdtempSync(join(tmpdir(), 'patchbay-redis-'));
  redis = await startRedis({ dir });
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent', REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } });
  headers = { 'content-type': 'application/json', ...(await as('usr_00001', 'email:send')) };
}, 60_000);

afterAll(async () => {
  redis?.process.kill('SIGCONT');
  redis?.process.kill();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; retryable?: boolean } }>;
}

/** Every error code clients saw, in order. */
const seen: string[] = [];

/** What a well-behaved client does: asks again, after a pause, while the answer says retryable. */
async function withRetries(ask: () => Promise<Answer>): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await ask();
    for (const error of answer.errors ?? []) seen.push(error.extensions?.code ?? 'NO_CODE');
    if (!answer.errors?.some((e) => e.extensions?.retryable) || attempt === 80) return answer;
    await pause(250);
  }
}

async function post(query: string, variables: object): Promise<Answer> {
  const response = await fetch(`${stack.gateways.web!.url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Answer;
}

let n = 0;
const sendOnce = (key: string, to: string) =>
  withRetries(() => post(print(SendEmailDocument), { input: { to, subject: 'Outage', text: 'Hello', idempotencyKey: key } }));
const track = (ids: string[]) => {
  trackedIds.push(...ids);
  return withRetries(() => post(print(TrackDocument), { events: ids.map((id) => ({ id, userId: 'usr_00001', name: 'Outage' })) }));
};

const mailsTo = (to: string) => stack.sandbox.providers.sendgrid.sent.filter((m) => JSON.stringify(m.body).includes(to)).length;
/** What Segment received of usr_00001's events with ids starting `prefix` (it keeps them under message ids of the user's). */
const ingested = (prefix: string) => {
  const received = new Set(stack.sandbox.providers.segment.ingested.map((e) => String(e.properties.$insert_id)));
  return new Set(trackedIds.filter((id) => id.startsWith(prefix) && received.has(eventMessageId('usr_00001', id))));
};
const trackedIds: string[] = [];
const readiness = async (subgraph: string) => {
  const response = await fetch(`${stack.subgraphs[subgraph]!.url}/readyz`);
  return { status: response.status, redis: ((await response.json()) as { redis?: string }).redis };
};
const redisIs =
  (state: string, ...subgraphs: string[]) =>
  async () =>
    (await Promise.all(subgraphs.map(readiness))).every((answer) => answer.redis === state);

describeWithRedis('Redis paused, stopped and restarted mid-traffic', () => {
  test('every send happens once, every acknowledged event arrives, every failure is typed and retryable', async () => {
    const sends: Array<{ to: string; answer: Answer }> = [];
    const tracked: Array<{ ids: string[]; answer: Answer }> = [];
    let traffic = true;
    const client = async (c: number) => {
      while (traffic) {
        const i = ++n;
        const to = `outage-${c}-${i}@example.com`;
        const ids = [0, 1, 2].map((e) => `outage-${c}-${i}-${e}`);
        const [sent, acked] = await Promise.all([sendOnce(`outage-${i}`, to), track(ids)]);
        sends.push({ to, answer: sent });
        tracked.push({ ids, answer: acked });
        await pause(50);
      }
    };
    const clients = Promise.all([1, 2, 3, 4].map(client));
    /** Until the clients have met `count` more answers (or errors) than now: traffic went on through a phase. */
    const trafficThrough = (count: number, what: string) => {
      const from = sends.length + seen.length;
      return until(() => sends.length + seen.length >= from + count, { timeoutMs: 30_000, what });
    };

    await trafficThrough(8, 'traffic before the outage');
    redis.process.kill('SIGSTOP');
    await until(redisIs('unavailable', 'email'), { timeoutMs: 30_000, what: 'the email subgraph to see Redis paused' });
    await until(() => seen.includes('STORE_UNAVAILABLE'), { timeoutMs: 30_000, what: 'a client to meet the paused Redis' });
    expect(await readiness('email')).toEqual({ status: 200, redis: 'unavailable' });
    redis.process.kill('SIGCONT');
    await until(redisIs('ready', 'email', 'analytics'), { timeoutMs: 30_000, what: 'Redis to answer again' });
    await trafficThrough(8, 'traffic after the pause');

    redis.process.kill('SIGTERM');
    await new Promise((resolve) => redis.process.once('exit', resolve));
    await until(redisIs('unavailable', 'email', 'analytics'), { timeoutMs: 30_000, what: 'both subgraphs to see Redis gone' });
    // Still in rotation: Redis is every replica's, taking them all out would fail every field.
    expect(await readiness('email')).toEqual({ status: 200, redis: 'unavailable' });
    expect(await readiness('analytics')).toEqual({ status: 200, redis: 'unavailable' });
    await trafficThrough(4, 'traffic while Redis is stopped');
    redis = await startRedis({ port: redis.port, dir });
    await until(redisIs('ready', 'email', 'analytics'), { timeoutMs: 30_000, what: 'Redis to be back' });
    await trafficThrough(8, 'traffic after the restart');
    traffic = false;
    await clients;

    // The outage was met, and answered as a retryable store failure, never as a crash or a hang.
    expect(seen).toContain('STORE_UNAVAILABLE');
    expect(seen.filter((code) => !['STORE_UNAVAILABLE', 'IDEMPOTENCY_KEY_IN_USE'].includes(code))).toEqual([]);
    // Every send went through in the end, exactly once.
    expect(sends.filter((s) => s.answer.errors)).toEqual([]);
    expect(sends.map((s) => mailsTo(s.to)).filter((count) => count !== 1)).toEqual([]);
    // Every acknowledged event reaches Segment.
    const acknowledged = tracked.filter((t) => !t.answer.errors).flatMap((t) => t.ids);
    expect(acknowledged).toHaveLength(tracked.length * 3);
    await until(() => ingested('outage-').size >= acknowledged.length, { timeoutMs: 30_000, what: 'every acknowledged event at Segment' });
    expect([...ingested('outage-')].sort()).toEqual([...acknowledged].sort());
  }, 90_000);
});

describeWithRedis('an unreachable Redis at start', () => {
  test('the process serves, says so on /readyz, and logs connection errors as rate-limited JSON', async () => {
    const email = await startProgram(
      tsxProgram('scripts/run-subgraph.ts', 'email'),
      bareEnv({ EMAIL_PORT: '0', EMAIL_METRICS_PORT: '0', LOG_LEVEL: 'info', REDIS_URL: 'redis://127.0.0.1:1' }),
    );
    try {
      const connectionErrors = async () =>
        Number(
          /^patchbay_redis_connection_errors_total(?:{[^}]*})? (\d+)/m.exec(
            await (await fetch(`${email.metricsUrl}/metrics`)).text(),
          )?.[1] ?? 0,
        );
      await until(async () => (await connectionErrors()) >= 4, { timeoutMs: 20_000, what: 'four failed connection attempts' });
      const response = await fetch(`${email.url}/readyz`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { redis: string }).redis).toBe('unavailable');
      const lines = email.output().trim().split('\n');
      expect(lines.filter((line) => !line.startsWith('{'))).toEqual([]);
      // Reconnect attempts every few hundred ms, one log line for them all.
      expect(lines.filter((line) => line.includes('redis connection error'))).toHaveLength(1);
    } finally {
      await email.stop();
    }
  }, 30_000);
});
