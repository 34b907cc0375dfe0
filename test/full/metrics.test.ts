/**
 * What a dashboard reads: the gateway's requests, latency, errors, refusals, authentication
 * failures and subgraph calls per client and operation, each subgraph's operations, with
 * operation names bounded. Read from each process's metrics listener after real requests;
 * then deploy/'s dashboard and alert rules run in a real Prometheus scraping the stack.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DashboardDocument } from '../../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../../scripts/stack.js';
import { HAS_REDIS, freePort, graphql, startRedis, until, type TestRedis } from '../helpers.js';
import { REPO } from '../../scripts/programs.js';

let stack: Stack;
let web: string;
let redis: TestRedis | undefined;

beforeAll(async () => {
  // With Redis, as deployments run: its metrics are on the dashboard too.
  redis = HAS_REDIS ? await startRedis() : undefined;
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent', ...(redis ? { REDIS_URL: redis.url } : {}) } });
  web = `${stack.gateways.web!.url}/graphql`;
});
afterAll(async () => {
  await stack?.close();
  redis?.process.kill('SIGKILL');
});

/** One scrape as `name{labels}` -> value, labels in their exposed order without `service`. */
async function scrape(metricsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return Object.fromEntries(
    [...text.matchAll(/^(patchbay_[a-z_]+)(?:\{([^}]*)\})? (\S+)$/gm)].map(([, name, labels, value]) => [
      `${name}{${(labels ?? '')
        .split(',')
        .filter((label) => label && !label.startsWith('service='))
        .join(',')}}`,
      Number(value),
    ]),
  );
}
/** What changed between two scrapes (new series count from 0). */
const delta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after).flatMap(([key, value]) => (value !== (before[key] ?? 0) ? [[key, value - (before[key] ?? 0)]] : [])),
  );
const gatewayMetrics = () => scrape(stack.gateways.web!.metricsUrl!);
const busyUserId = (): string => stack.sandbox.seed.users[0]!.id;

describe('the gateway', () => {
  test('counts and times a request by client, operation and outcome, and every subgraph call it made', async () => {
    const before = await gatewayMetrics();
    const { body } = await graphql(web, DashboardDocument, { userId: busyUserId() });
    expect(body.errors).toBeUndefined();
    const changed = delta(before, await gatewayMetrics());
    expect(changed['patchbay_gateway_requests_total{client="web",operation="Dashboard",outcome="ok"}']).toBe(1);
    expect(changed['patchbay_gateway_request_duration_seconds_count{client="web",operation="Dashboard"}']).toBe(1);
    for (const subgraph of ['accounts', 'email', 'storage', 'analytics']) {
      expect(changed[`patchbay_gateway_subgraph_requests_total{client="web",subgraph="${subgraph}",outcome="ok"}`]).toBeGreaterThanOrEqual(
        1,
      );
      expect(changed[`patchbay_gateway_subgraph_duration_seconds_count{client="web",subgraph="${subgraph}"}`]).toBeGreaterThanOrEqual(1);
    }
    expect(Object.keys(changed).filter((key) => key.startsWith('patchbay_gateway_errors_total'))).toEqual([]);
  });

  test('a partial answer is counted as partial, with its errors by code', async () => {
    stack.sandbox.faults('s3', [{ status: 503 }]);
    try {
      const before = await gatewayMetrics();
      // Another user than the test before: that one's files are in the entity cache, and would be answered from it.
      const { body } = await graphql(web, DashboardDocument, { userId: stack.sandbox.seed.users[1]!.id });
      expect(body.errors?.length).toBe(2);
      const changed = delta(before, await gatewayMetrics());
      expect(changed['patchbay_gateway_requests_total{client="web",operation="Dashboard",outcome="partial"}']).toBe(1);
      expect(changed['patchbay_gateway_errors_total{client="web",operation="Dashboard",code="UPSTREAM_UNAVAILABLE"}']).toBe(2);
      // Storage answered (with errors in its data): the call is 'errors', not a transport failure.
      expect(changed['patchbay_gateway_subgraph_requests_total{client="web",subgraph="storage",outcome="errors"}']).toBeGreaterThanOrEqual(
        1,
      );
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  test('refusals are counted by the limit they passed, failed credentials by reason; health checks not at all', async () => {
    const before = await gatewayMetrics();
    const repeated = `query Repeats { ${Array.from({ length: 30 }, () => 'me { id }').join(' ')} }`;
    expect((await graphql(web, repeated)).status).toBe(400);
    expect((await graphql(web, '{ me { id } }', undefined, { authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    const body = JSON.stringify({ query: `{ me { name${' '.repeat(2_000_000)} } }` });
    expect((await fetch(web, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(413);
    await fetch(`${stack.gateways.web!.url}/healthz`);
    await fetch(`${stack.gateways.web!.url}/readyz`);
    const changed = delta(before, await gatewayMetrics());
    expect(changed['patchbay_gateway_limit_refusals_total{client="web",limit="repeats"}']).toBe(1);
    expect(changed['patchbay_gateway_limit_refusals_total{client="web",limit="body_size"}']).toBe(1);
    expect(changed['patchbay_gateway_auth_failures_total{client="web",reason="malformed"}']).toBe(1);
    expect(changed['patchbay_gateway_requests_total{client="web",operation="Repeats",outcome="error"}']).toBe(1);
    // Two GraphQL requests reached the engine (the repeat and the bad token's refusal are both answered there).
    const counted = Object.entries(changed).filter(([key]) => key.startsWith('patchbay_gateway_requests_total'));
    expect(counted.reduce((sum, [, value]) => sum + value, 0)).toBeLessThanOrEqual(2);
  });

  test('operation names a client makes up stop getting series of their own: the rest are `other`', async () => {
    for (let i = 0; i < 130; i++) await graphql(web, `query Invented${i} { __typename }`);
    const operations = new Set(
      Object.keys(await gatewayMetrics())
        .filter((key) => key.startsWith('patchbay_gateway_requests_total'))
        .map((key) => /operation="([^"]*)"/.exec(key)?.[1]),
    );
    expect([...operations].filter((name) => name?.startsWith('Invented')).length).toBeLessThanOrEqual(100);
    expect(operations.has('other')).toBe(true);
  });
});

describe('each subgraph', () => {
  test('counts and times the operations it serves, by the client operations that caused them', async () => {
    const metricsUrl = stack.subgraphs.accounts!.metricsUrl!;
    const before = await scrape(metricsUrl);
    // A user not asked for before: the account is fetched, not served from the HTTP cache.
    await graphql(web, DashboardDocument, { userId: stack.sandbox.seed.users[5]!.id });
    const changed = delta(before, await scrape(metricsUrl));
    const served = Object.entries(changed).filter(([key]) => key.startsWith('patchbay_subgraph_operations_total'));
    expect(served.length).toBeGreaterThanOrEqual(1);
    for (const [key, value] of served) {
      expect(key).toMatch(/operation="Dashboard",outcome="ok"/);
      expect(value).toBe(1);
    }
    expect(Object.keys(changed).some((key) => key.startsWith('patchbay_subgraph_operation_duration_seconds_count'))).toBe(true);
    expect(Object.keys(changed).some((key) => key.startsWith('patchbay_upstream_requests_total{source="accounts'))).toBe(true);
  });
});

const HAS_PROMETHEUS = spawnSync('prometheus', ['--version']).status === 0;
if (!HAS_PROMETHEUS)
  process.stderr.write(
    'prometheus is not installed (Debian package prometheus): the dashboard and alert rules are not run against a server\n',
  );

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/patchbay.json'), 'utf8')) as { panels: Panel[] };
const alertRules = readFileSync(join(REPO, 'deploy/prometheus/alerts.yml'), 'utf8');
/** A panel's query as Grafana sends it: every client and service, a 15 s rate window. */
const asSent = (expr: string) => expr.replaceAll('$__rate_interval', '15s').replaceAll('$client', '.*').replaceAll('$service', '.*');
/** Panels of what happens in any traffic; the others (refusals, outbox, webhooks, breakers opening) may be empty here. */
const MAIN_PANELS = [
  'Requests by client and outcome',
  'Latency p50 / p99',
  'Requests by operation',
  'Errors by code',
  'Subgraph calls by outcome',
  'Subgraph call p99',
  'Operations by outcome',
  'Attempts by source and outcome',
  'Attempt p99',
  'Circuit breakers',
  'CPU',
  'Resident memory',
];
/** What the error alert watches, from the recording rules. */
const SERVER_ERROR_RATIO = 'patchbay:gateway_server_errors:rate5m{client="web"} / patchbay:gateway_requests:rate5m{client="web"}';
const metricsUrls = () => [...Object.values(stack.gateways), ...Object.values(stack.subgraphs)].map((service) => service.metricsUrl!);

describe('deploy/: the Grafana dashboard and the Prometheus alerts', () => {
  test('name only metrics the processes expose', async () => {
    const exposed = new Set<string>();
    for (const url of metricsUrls()) {
      for (const [, name] of (await (await fetch(`${url}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)) exposed.add(name!);
    }
    const named = [...dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr), alertRules].flatMap((text) =>
      [...text.matchAll(/\bpatchbay_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, '')),
    );
    if (!HAS_REDIS) exposed.add('patchbay_redis_up');
    expect([...new Set(named)].filter((name) => !exposed.has(name))).toEqual([]);
  });

  (HAS_PROMETHEUS ? describe : describe.skip)('in a Prometheus scraping the stack', () => {
    let prometheus: ChildProcess | undefined;
    let api: string;
    let dir: string;
    const rules = async () =>
      (
        (await (await fetch(`${api}/api/v1/rules`)).json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
        }
      ).data.groups.flatMap((group) => group.rules);
    const query = async (expr: string) =>
      (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
        status: string;
        error?: string;
        data?: { result: unknown[] };
      };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'patchbay-prometheus-'));
      const port = await freePort();
      api = `http://127.0.0.1:${port}`;
      const targets = metricsUrls().map((url) => new URL(url).host);
      writeFileSync(
        join(dir, 'prometheus.yml'),
        JSON.stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          rule_files: [join(REPO, 'deploy/prometheus/alerts.yml')],
          scrape_configs: [{ job_name: 'patchbay', static_configs: [{ targets }] }],
        }),
      );
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        {
          stdio: 'ignore',
        },
      );
      await until(async () => (await fetch(`${api}/-/ready`).catch(() => undefined))?.status === 200, { what: 'Prometheus to be ready' });
      // Traffic, some of it failing at a provider, until Prometheus (scraping every second) shows it on the main panels.
      stack.sandbox.faults('s3', [{ status: 503, rate: 0.25 }]);
      const users = stack.sandbox.seed.users.slice(0, 10);
      const mainQueries = dashboard.panels
        .filter((panel) => MAIN_PANELS.includes(panel.title))
        .flatMap((panel) => panel.targets ?? [])
        .map((target) => asSent(target.expr));
      await until(
        async () => {
          await Promise.all(users.map((user) => graphql(web, DashboardDocument, { userId: user.id })));
          const answers = await Promise.all(mainQueries.map(query));
          return answers.every((answer) => (answer.data?.result.length ?? 0) > 0);
        },
        { timeoutMs: 45_000, everyMs: 100, what: 'the main panels to show the traffic' },
      );
      stack.sandbox.clearFaults();
      // And until every rule has been evaluated on it.
      await until(
        async () =>
          (await rules()).every((rule) => rule.health !== 'unknown') && ((await query(SERVER_ERROR_RATIO)).data?.result.length ?? 0) > 0,
        { what: 'the alert rules to be evaluated on the traffic' },
      );
    }, 60_000);
    afterAll(() => {
      prometheus?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("every panel's query is valid PromQL, and the main panels show the traffic", async () => {
      const empty: string[] = [];
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? []) {
          const answer = await query(asSent(target.expr));
          expect({ panel: panel.title, status: answer.status, error: answer.error }).toEqual({
            panel: panel.title,
            status: 'success',
            error: undefined,
          });
          if (answer.data!.result.length === 0) empty.push(panel.title);
        }
      }
      for (const title of MAIN_PANELS) {
        expect({ title, empty: empty.includes(title) }).toEqual({ title, empty: false });
      }
    });

    test('the alert rules load and evaluate without error', async () => {
      const all = await rules();
      expect(all.length).toBe([...alertRules.matchAll(/^ {6}- (alert|record): /gm)].length);
      expect(all.filter((rule) => rule.health !== 'ok').map((rule) => [rule.name, rule.health, rule.lastError])).toEqual([]);
      expect((await query(SERVER_ERROR_RATIO)).data!.result).toHaveLength(1);
    });
  });
});
