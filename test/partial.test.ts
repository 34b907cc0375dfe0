import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { web } from '../gateway/clients/web.js';
import { startGateway } from '../gateway/index.js';
import { DashboardDocument, SendEmailDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { as, expectNoLeaks, graphql, until } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => stack?.close());

/** Dashboard with storage failing: everything else must arrive. */
async function dashboardWithoutStorage() {
  const { status, body } = await graphql(`${stack.gateways.web!.url}/graphql`, DashboardDocument, { userId: 'usr_00001' });
  expect(status).toBe(200);
  const user = body.data!.user!;
  expect(user.name).toBe(stack.sandbox.seed.users[0]!.name);
  expect(user.files).toBeNull();
  expect(user.storageUsedBytes).toBeNull();
  const seed = stack.sandbox.seed;
  expect(user.emailMessages!.map((m) => m.id)).toEqual(
    seed.messages
      .filter((m) => m.to_email === seed.users[0]!.email)
      .slice(0, 5)
      .map((m) => m.msg_id),
  );
  expect(user.recentEvents!.map((e) => e.name)).toEqual(
    seed.events
      .filter((e) => e.properties.distinct_id === 'usr_00001' && e.properties.time * 1000 >= Date.now() - 30 * 86_400_000)
      .sort((a, b) => b.properties.time - a.properties.time)
      .slice(0, 10)
      .map((e) => e.event),
  );
  return body;
}

test('with the storage provider down, Dashboard serves everything else and names the failed source', async () => {
  stack.sandbox.faults('s3', [{ status: 503 }]);
  try {
    const body = await dashboardWithoutStorage();
    expect(body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.source]).sort()).toEqual([
      ['user.files', 'UPSTREAM_UNAVAILABLE', 'storage.s3'],
      ['user.storageUsedBytes', 'UPSTREAM_UNAVAILABLE', 'storage.s3'],
    ]);
    expectNoLeaks(body);
  } finally {
    stack.sandbox.clearFaults();
  }
});

test("in a fanned-out batch, a failing call fails only its own entity's field", async () => {
  // The first of UserList's 50 listings is refused (403 is not retried); the other 49 answer.
  stack.sandbox.faults('s3', [{ operation: 'ListObjectsV2', status: 403, times: 1 }]);
  try {
    const { body } = await graphql(`${stack.gateways.web!.url}/graphql`, UserListDocument, { first: 50 });
    const nodes = body.data!.users.nodes;
    expect(nodes).toHaveLength(50);
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAUTHORIZED']);
    expect(nodes.filter((n) => n.storageUsedBytes === null)).toHaveLength(1);
    expect(nodes.every((n) => n.name && n.emailDeliverability)).toBe(true);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ extensions: { code: 'UPSTREAM_UNAUTHORIZED', source: 'storage.s3' } });
    const failed = nodes.findIndex((n) => n.storageUsedBytes === null);
    expect(body.errors![0]!.path).toEqual(['users', 'nodes', failed, 'storageUsedBytes']);
  } finally {
    stack.sandbox.clearFaults();
  }
});

/**
 * A web gateway whose storage subgraph takes every call and never answers, with this subgraph
 * timeout: `calls` are the calls it took, `ended` those the gateway gave up on (closed).
 */
async function gatewayWithSilentStorage(subgraphTimeoutMs: number) {
  const calls: http.IncomingMessage[] = [];
  const ended: http.IncomingMessage[] = [];
  const silent = http.createServer((req) => {
    calls.push(req);
    req.socket.once('close', () => ended.push(req));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const gateway = await startGateway(web, {
    ...stack.subgraphUrls,
    STORAGE_SUBGRAPH_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/graphql`,
    WEB_SUBGRAPH_TIMEOUT_MS: String(subgraphTimeoutMs),
    WEB_GATEWAY_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  return {
    url: gateway.url,
    calls,
    ended,
    async close() {
      await gateway.close();
      silent.closeAllConnections();
      silent.close();
    },
  };
}

test('a subgraph that answers too late fails only its fields, with SUBGRAPH_TIMEOUT', async () => {
  const gateway = await gatewayWithSilentStorage(300);
  try {
    const { status, body } = await graphql(`${gateway.url}/graphql`, '{ user(id: "usr_00001") { name storageUsedBytes } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ user: { name: stack.sandbox.seed.users[0]!.name, storageUsedBytes: null } });
    // The error names the subgraph and the entity whose fetch failed (as Apollo Router does).
    expect(body.errors).toEqual([
      {
        message: 'Subgraph storage did not answer in time',
        path: ['user'],
        extensions: { code: 'SUBGRAPH_TIMEOUT', subgraph: 'storage', retryable: true },
      },
    ]);
  } finally {
    await gateway.close();
  }
});

test('a client that goes away ends the subgraph calls it was waiting for, long before their deadline', async () => {
  const gateway = await gatewayWithSilentStorage(60_000);
  try {
    const client = http.request(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await as('usr_00001')) },
    });
    client.on('error', () => {}); // destroyed below, on purpose
    client.end(JSON.stringify({ query: '{ user(id: "usr_00001") { name storageUsedBytes } }' }));
    await until(() => gateway.calls.length === 1, { what: 'the storage call' });
    expect(gateway.ended).toHaveLength(0);
    client.destroy();
    await until(() => gateway.ended.length === 1, { what: 'the gateway to end the storage call its client no longer waits for' });
    // A later request is served as usual: nothing of the first one stays behind.
    const { body } = await graphql(`${gateway.url}/graphql`, '{ user(id: "usr_00001") { name } }');
    expect(body.data).toEqual({ user: { name: stack.sandbox.seed.users[0]!.name } });
  } finally {
    await gateway.close();
  }
});

test("each request's subgraph deadline is its own, though answered requests hand theirs on", async () => {
  const subgraphTimeoutMs = 150;
  const gateway = await gatewayWithSilentStorage(subgraphTimeoutMs);
  try {
    // Requests back to back, four at a time, for longer than two deadlines: had an answered
    // request's deadline still run, it would end a later request's calls.
    const name = { user: { name: stack.sandbox.seed.users[0]!.name } };
    const startedAt = Date.now();
    let answered = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - startedAt < 2 * subgraphTimeoutMs + 100) {
          const { body } = await graphql(`${gateway.url}/graphql`, '{ user(id: "usr_00001") { name } }');
          expect(body).toEqual({ data: name });
          answered++;
        }
      }),
    );
    expect(answered).toBeGreaterThan(4);
    // And a deadline handed on still ends its own request's calls.
    const { body } = await graphql(`${gateway.url}/graphql`, '{ user(id: "usr_00001") { name storageUsedBytes } }');
    expect(body.data).toEqual({ user: { ...name.user, storageUsedBytes: null } });
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['SUBGRAPH_TIMEOUT']);
  } finally {
    await gateway.close();
  }
});

// After the tests that need the storage subgraph: it closes it.
test('with the storage subgraph gone, Dashboard still serves the user, messages and events', async () => {
  const storageUrl = stack.subgraphs.storage!.url;
  await stack.subgraphs.storage!.close();
  const body = await dashboardWithoutStorage();
  // One error for the failed fetch, naming the subgraph and the entity it was for.
  expect(body.errors).toEqual([
    {
      message: 'Subgraph storage is unavailable',
      path: ['user'],
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'storage', retryable: true },
    },
  ]);
  expectNoLeaks(body);
  expect(JSON.stringify(body)).not.toContain(storageUrl);
});

// Last: it leaves SendGrid's circuit open for this stack.
test("sends fail over to the next provider (EMAIL_PROVIDERS: Mailgun) once SendGrid's circuit is open, and only then", async () => {
  const web = `${stack.gateways.web!.url}/graphql`;
  stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 500 }]);
  const send = () => graphql(web, SendEmailDocument, { input: { to: 'failover@example.com', subject: 'Hi', text: 'Hello' } });
  try {
    const outcomes: string[] = [];
    for (let i = 0; i < 40 && !outcomes.includes('mailgun'); i++) {
      const { body } = await send();
      outcomes.push(body.data?.sendEmail.provider ?? String(body.errors?.[0]?.extensions?.code));
    }
    // Failures before the circuit opened may have been sent: reported, not re-sent elsewhere.
    expect(outcomes.at(-1)).toBe('mailgun');
    expect(new Set(outcomes.slice(0, -1))).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
    expect(stack.sandbox.calls().sendgrid.mailSend).toBe(outcomes.length - 1);
    const mail = stack.sandbox.providers.mailgun.sent.at(-1)!;
    expect(mail.fields).toMatchObject({ to: ['failover@example.com'], 'v:patchbay_send_id': [expect.any(String)] });
    // Mailgun throttled, provably not taken: the send goes on to Postmark.
    stack.sandbox.faults('mailgun', [{ operation: 'messages', status: 429, retryAfter: 60 }]);
    expect((await send()).body.data?.sendEmail.provider).toBe('postmark');
    expect(stack.sandbox.providers.postmark.sent.at(-1)!.body).toMatchObject({ To: 'failover@example.com' });
  } finally {
    stack.sandbox.clearFaults();
  }
});
