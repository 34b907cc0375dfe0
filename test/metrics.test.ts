/**
 * What a dashboard reads: the gateway's requests, latency, errors, refusals, authentication
 * failures and subgraph calls per client and operation, each subgraph's operations, with
 * operation names bounded. Read from each process's metrics listener after real requests.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DashboardDocument } from '../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { graphql } from './helpers.js';

let stack: Stack;
let web: string;

beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  web = `${stack.gateways.web!.url}/graphql`;
});
afterAll(() => stack?.close());

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
  Object.fromEntries(Object.entries(after).flatMap(([key, value]) => (value !== (before[key] ?? 0) ? [[key, value - (before[key] ?? 0)]] : [])));
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
      expect(changed[`patchbay_gateway_subgraph_requests_total{client="web",subgraph="${subgraph}",outcome="ok"}`]).toBeGreaterThanOrEqual(1);
      expect(changed[`patchbay_gateway_subgraph_duration_seconds_count{client="web",subgraph="${subgraph}"}`]).toBeGreaterThanOrEqual(1);
    }
    expect(Object.keys(changed).filter((key) => key.startsWith('patchbay_gateway_errors_total'))).toEqual([]);
  });

  test('a partial answer is counted as partial, with its errors by code', async () => {
    stack.sandbox.faults('storage', [{ status: 503 }]);
    try {
      const before = await gatewayMetrics();
      const { body } = await graphql(web, DashboardDocument, { userId: busyUserId() });
      expect(body.errors?.length).toBe(2);
      const changed = delta(before, await gatewayMetrics());
      expect(changed['patchbay_gateway_requests_total{client="web",operation="Dashboard",outcome="partial"}']).toBe(1);
      expect(changed['patchbay_gateway_errors_total{client="web",operation="Dashboard",code="UPSTREAM_UNAVAILABLE"}']).toBe(2);
      // Storage answered (with errors in its data): the call is 'errors', not a transport failure.
      expect(changed['patchbay_gateway_subgraph_requests_total{client="web",subgraph="storage",outcome="errors"}']).toBeGreaterThanOrEqual(1);
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
