/**
 * Providers' quotas and back-pressure, counted where they matter: at the provider. Analytics
 * replicas (real processes) query Mixpanel's sandbox under sustained demand, alone, as two
 * replicas sharing Redis, and as two replicas whose Redis cannot be reached; the sandbox counts
 * what arrives. And a provider's throttle (the sandbox's 429 with SendGrid's reset header)
 * pauses the source on every email replica, not only on the one that heard it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { bareEnv, startProgram, tsxProgram, type RunningProgram } from '../../scripts/programs.js';
import { FREE_SANDBOX_PORTS, HAS_REDIS, asGateway, freePort, graphql, startRedis, type TestRedis } from '../helpers.js';
import { envName } from '../../kit/process/env-name.js';

if (!HAS_REDIS) console.warn('redis-server not found: the quota tests are skipped (.ci/run installs it)');
const describeWithRedis = HAS_REDIS ? describe : describe.skip;

/** Mixpanel's quota for these tests: 7,200 an hour is 2 a second, with its burst of 5. */
const PER_HOUR = 7200;
const RATE = PER_HOUR / 3600;
const BURST = 5;
/** How long demand is kept above the quota. */
const DEMAND_SECONDS = 20;
/** Callers at once: four times what the quota lets through, so that there is always a queue. */
const CALLERS = 8;

let sandbox: Sandbox;
let redis: TestRedis;
let outboxes: string;

beforeAll(async () => {
  if (!HAS_REDIS) return;
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '50' });
  redis = await startRedis();
  outboxes = mkdtempSync(join(tmpdir(), 'patchbay-quotas-'));
});
afterAll(async () => {
  await sandbox?.close();
  redis?.process.kill();
  if (outboxes) rmSync(outboxes, { recursive: true, force: true });
});

function startReplicas(service: 'analytics' | 'email', count: number, env: Record<string, string>): Promise<RunningProgram[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      startProgram(
        tsxProgram('scripts/run-subgraph.ts', service),
        bareEnv({
          ...sandbox.env(),
          LOG_LEVEL: 'info',
          [envName(service, 'PORT')]: '0',
          [envName(service, 'METRICS_PORT')]: '0',
          OUTBOX_DIR: join(outboxes, `${service}-${i}-${randomBytes(3).toString('hex')}`),
          ...env,
        }),
      ),
    ),
  );
}

/**
 * Keeps CALLERS callers asking the replicas (in turn) for event counts nobody asked for before
 * (no cache, no shared call) for DEMAND_SECONDS; returns how many reached Mixpanel, over how
 * long, and what the callers were answered.
 */
async function sustainDemand(replicas: RunningProgram[]) {
  const headers = await asGateway('analytics', 'usr_analyst', 'analytics:read');
  const before = sandbox.calls().mixpanel.mixpanelSegmentation ?? 0;
  const startedAt = Date.now();
  const stopAt = startedAt + DEMAND_SECONDS * 1000;
  const answers: string[] = [];
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      for (let i = 0; Date.now() < stopAt; i++) {
        const event = `Quota ${caller}-${i}-${randomBytes(3).toString('hex')}`;
        const { body } = await graphql(
          `${replicas[(caller + i) % replicas.length]!.url}/graphql`,
          `{ eventCounts(event: "${event}", from: "2026-01-01", to: "2026-01-02") { total } }`,
          undefined,
          headers,
        );
        answers.push(body.errors ? String(body.errors[0]!.extensions?.code) : 'ok');
      }
    }),
  );
  const seconds = (Date.now() - startedAt) / 1000;
  const arrived = (sandbox.calls().mixpanel.mixpanelSegmentation ?? 0) - before;
  return { arrived, seconds, answers };
}

/** A counter of Mixpanel's source on one replica, all its series together. */
const mixpanelCounter = async (program: RunningProgram, name: string) => {
  const text = await (await fetch(`${program.metricsUrl!}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes('source="analytics.mixpanel"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
};
/** Demand for DEMAND_SECONDS, with time to start the replicas and for the last callers' deadlines. */
const TEST_TIMEOUT_MS = (DEMAND_SECONDS + 40) * 1000;

describeWithRedis("a provider's quota under sustained demand", () => {
  test(
    'one process: never more than rate x time + burst, and the quota is used',
    async () => {
      const [replica] = await startReplicas('analytics', 1, { MIXPANEL_QUERIES_PER_HOUR: String(PER_HOUR) });
      try {
        const { arrived, seconds, answers } = await sustainDemand([replica!]);
        expect(arrived).toBeLessThanOrEqual(Math.floor(RATE * seconds + BURST));
        expect(arrived).toBeGreaterThanOrEqual(Math.floor(RATE * seconds * 0.75));
        // Every caller waited its turn within its deadline: nothing was refused, nothing failed.
        expect(new Set(answers)).toEqual(new Set(['ok']));
        expect(answers).toHaveLength(arrived);
      } finally {
        await replica!.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'two replicas sharing Redis hold one quota between them',
    async () => {
      const pair = await startReplicas('analytics', 2, { MIXPANEL_QUERIES_PER_HOUR: String(PER_HOUR), REDIS_URL: redis.url });
      try {
        const { arrived, seconds, answers } = await sustainDemand(pair);
        expect(arrived).toBeLessThanOrEqual(Math.floor(RATE * seconds + BURST));
        expect(arrived).toBeGreaterThanOrEqual(Math.floor(RATE * seconds * 0.75));
        expect(new Set(answers)).toEqual(new Set(['ok']));
        // Both replicas called: the quota is shared, not held by whichever came first.
        for (const replica of pair) expect(await mixpanelCounter(replica, 'patchbay_upstream_requests_total')).toBeGreaterThan(0);
      } finally {
        await Promise.all(pair.map((replica) => replica.stop()));
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'with Redis unreachable each replica keeps its share: never unlimited, never refusing everything; logged and counted',
    async () => {
      const nowhere = `redis://127.0.0.1:${await freePort()}`;
      const pair = await startReplicas('analytics', 2, {
        MIXPANEL_QUERIES_PER_HOUR: String(PER_HOUR),
        REDIS_URL: nowhere,
        SHARED_QUOTA_REPLICAS: '2',
      });
      try {
        const { arrived, seconds } = await sustainDemand(pair);
        // Each holds half the rate and half the burst (rounded down).
        expect(arrived).toBeLessThanOrEqual(Math.floor(RATE * seconds + 2 * Math.floor(BURST / 2)));
        expect(arrived).toBeGreaterThanOrEqual(Math.floor(RATE * seconds * 0.75));
        for (const replica of pair) {
          expect(await mixpanelCounter(replica, 'patchbay_upstream_rate_limit_fallbacks_total')).toBeGreaterThan(0);
          expect(replica.output()).toContain('shared rate limit unavailable: this process keeps its share of the quota');
        }
      } finally {
        await Promise.all(pair.map((replica) => replica.stop()));
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describeWithRedis("a provider's throttle pauses the source on every replica", () => {
  let pair: RunningProgram[];
  beforeAll(async () => {
    // SendGrid alone: a throttled send is not passed on to the next provider.
    pair = await startReplicas('email', 2, { REDIS_URL: redis.url, EMAIL_PROVIDERS: 'sendgrid' });
  });
  afterAll(() => Promise.all(pair.map((replica) => replica.stop())));

  const send = async (replica: RunningProgram, subject: string) => {
    const user = sandbox.seed.users[3]!;
    const { body } = await graphql<{ sendEmail: { messageId: string } }, Record<string, unknown>>(
      `${replica.url}/graphql`,
      `
        mutation Send($input: SendEmailInput!) {
          sendEmail(input: $input) {
            messageId
          }
        }
      `,
      { input: { to: user.email, subject, text: 'Hi' } },
      await asGateway('email', user.id, 'email:send'),
    );
    return body;
  };
  const sends = () => sandbox.calls().sendgrid.mailSend ?? 0;

  test('callers on the other replica wait the pause out within their deadline, and nothing is sent into it', async () => {
    // The next send is throttled: SendGrid's reset is 4 s away, longer than its retries wait.
    sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 429, retryAfter: 4, times: 1 }]);
    const before = sends();
    // No later than SendGrid's 429: its pause ends 4 s after this at the earliest.
    const throttledFrom = Date.now();
    const throttled = await send(pair[0]!, 'throttled');
    expect(throttled.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(sends() - before).toBe(1);

    const answers = await Promise.all([1, 2, 3].map((n) => send(pair[1]!, `after the pause ${n}`)));
    for (const answer of answers) expect(answer.data?.sendEmail.messageId).toEqual(expect.any(String));
    expect(sends() - before).toBe(4);
    // Nothing was sent into the pause: the other replica heard of the throttle, and its sends reached SendGrid after it.
    const intoThePause = sandbox.providers.sendgrid.sent.filter(
      (mail) => JSON.stringify(mail.body).includes('after the pause') && mail.receivedAt.getTime() < throttledFrom + 4000,
    );
    expect(intoThePause).toEqual([]);
  });

  test('a pause longer than the deadline is answered RATE_LIMITED with when to come back, without a call', async () => {
    sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 429, retryAfter: 30, times: 1 }]);
    const before = sends();
    expect((await send(pair[0]!, 'throttled for long')).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const refused = await send(pair[1]!, 'during the long pause');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterMs: expect.any(Number) });
    expect(refused.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(20_000);
    expect(sends() - before).toBe(1);
  });
});
