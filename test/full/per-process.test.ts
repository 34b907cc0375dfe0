/**
 * The shape a deployment runs: every service its own OS process, started with the commands
 * the README gives and only the environment it documents (here: none but LOG_LEVEL), on the
 * documented ports. Subgraph URLs come from the supergraph; nothing is passed in that `npm
 * start` or the in-process tests would have set. Then a joined query and a mutation through
 * each gateway, and a clean stop of every process.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { print } from 'graphql';
import { HomeDocument, TrackDocument } from '../../clients/mobile/__generated__/operations.js';
import { SendEmailDocument } from '../../clients/web/__generated__/operations.js';
import { METRICS_PORT_OFFSET } from '../../kit/process/config.js';
import { localUrl } from '../../kit/process/local-defaults.js';
import { clientByName } from '../../gateway/clients/index.js';
import { PROVIDERS, REGISTRY, SUBGRAPH_NAMES, providerEntry, type ProviderName } from '../../subgraphs/registry.js';
import { generateSeed } from '../../sandbox/seed.js';
import { persistedId, until } from '../helpers.js';
import { bareEnv, runToEnd, startProgram, startProgramsTogether, type RunningProgram } from '../../scripts/programs.js';

const env = bareEnv({ LOG_LEVEL: 'info' });
const npm = (...args: string[]) => ['npm', 'run', '-s', ...args];
const ports = {
  web: clientByName('web')!.defaultPort,
  mobile: clientByName('mobile')!.defaultPort,
  ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, REGISTRY[name].port])),
};
const sandboxPort = (provider: ProviderName) => providerEntry(provider).sandboxPort;
const SERVICE_PORTS = Object.values(ports);
// Each service's metrics listen on its port + METRICS_PORT_OFFSET.
const DOCUMENTED_PORTS = [
  ...SERVICE_PORTS,
  ...SERVICE_PORTS.map((port) => port + METRICS_PORT_OFFSET),
  ...PROVIDERS.map((p) => p.sandboxPort),
];

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const running: RunningProgram[] = [];
let token: string;

beforeAll(async () => {
  const busy = [];
  for (const port of DOCUMENTED_PORTS) if (!(await portIsFree(port))) busy.push(port);
  if (busy.length) throw new Error(`ports ${busy.join(', ')} are in use: stop whatever runs there (npm start?) and run this test again`);

  running.push(await startProgram(npm('sandbox'), env));
  running.push(...(await startProgramsTogether(SUBGRAPH_NAMES.map((name) => startProgram(npm('subgraph', '--', name), env)))));
  running.push(...(await startProgramsTogether(['web', 'mobile'].map((client) => startProgram(npm('gateway', '--', client), env)))));
  const minted = await runToEnd(npm('token', '--', 'usr_00001', 'email:send'), env);
  expect(minted.status).toBe(0);
  token = minted.stdout.trim();
}, 90_000);

afterAll(async () => {
  // Gateways first, the sandbox last: the order a deployment drains in.
  for (const program of running.reverse()) await program.stop();
});

const post = async (gateway: number, body: object) => {
  const response = await fetch(`${localUrl(gateway)}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: Record<string, any>; errors?: unknown[] } };
};
const sandboxCalls = async (port: number) =>
  ((await (await fetch(`${localUrl(port)}/__sandbox/calls`)).json()) as { byOperation: Record<string, number> }).byOperation;

describe('every service as its own process, as the README starts them', () => {
  test('web: a query joined across the four subgraphs, and a mutation', async () => {
    const joined = await post(ports.web, {
      query:
        '{ me { id name email storageUsedBytes files(first: 2) { nodes { name downloadUrl } } emailMessages(first: 2) { subject status } recentEvents(last: 2) { name } lastSeenAt } }',
    });
    expect(joined.status).toBe(200);
    expect(joined.body.errors).toBeUndefined();
    const me = joined.body.data!.me;
    expect(me).toMatchObject({ id: 'usr_00001', email: expect.stringContaining('@'), storageUsedBytes: expect.any(Number) });
    expect(me.files.nodes).toHaveLength(2);
    expect(me.files.nodes[0].downloadUrl).toMatch(new RegExp(`^${localUrl(sandboxPort('s3'))}/`));
    // The sandbox process's data: the same seed makes the same messages here.
    const seed = generateSeed();
    const email = seed.users.find((user) => user.id === 'usr_00001')!.email;
    expect(me.email).toBe(email);
    expect(me.emailMessages.map((m: { subject: string }) => m.subject)).toEqual(
      seed.messages
        .filter((m) => m.to_email === email)
        .slice(0, 2)
        .map((m) => m.subject),
    );
    expect(me.recentEvents).toHaveLength(2);

    const before = (await sandboxCalls(sandboxPort('sendgrid'))).mailSend ?? 0;
    const sent = await post(ports.web, {
      query: print(SendEmailDocument),
      variables: {
        input: {
          to: 'per-process@example.com',
          subject: 'Hello',
          text: 'From its own process',
          idempotencyKey: `per-process-${Date.now()}`,
        },
      },
    });
    expect(sent.body.errors).toBeUndefined();
    expect(sent.body.data!.sendEmail).toMatchObject({ provider: 'sendgrid', messageId: expect.any(String) });
    expect((await sandboxCalls(sandboxPort('sendgrid'))).mailSend).toBe(before + 1);
  });

  test('mobile: a persisted joined query and a persisted mutation, by id only', async () => {
    const home = await post(ports.mobile, {
      variables: { userId: 'usr_00001' },
      extensions: { persistedQuery: { version: 1, sha256Hash: persistedId('Home') } },
    });
    expect(home.body.errors).toBeUndefined();
    expect(home.body.data!.user).toMatchObject({
      id: 'usr_00001',
      files: { nodes: expect.any(Array) },
      emailMessages: expect.any(Array),
      recentEvents: expect.any(Array),
    });

    const id = `per-process-${Date.now()}`;
    const batches = async () => (await sandboxCalls(sandboxPort('segment'))).segmentBatch ?? 0;
    const batchesBefore = await batches();
    const tracked = await post(ports.mobile, {
      variables: { events: [{ id, userId: 'usr_00001', name: 'Opened App' }] },
      extensions: { persistedQuery: { version: 1, sha256Hash: persistedId('Track') } },
    });
    expect(tracked.body.errors).toBeUndefined();
    expect(tracked.body.data!.track).toMatchObject({ accepted: 1, eventIds: [id] });
    // The outbox delivers to Segment after acknowledging.
    await until(async () => (await batches()) > batchesBefore, { timeoutMs: 10_000, what: 'the batch at Segment' });
    // One event, one batch.
    expect((await batches()) - batchesBefore).toBe(1);
    // The typed documents are what the manifest holds.
    expect(print(HomeDocument)).toContain('query Home');
    expect(print(TrackDocument)).toContain('mutation Track');
  });

  test('every service serves Prometheus metrics on its documented metrics port, and not on its own', async () => {
    for (const port of SERVICE_PORTS) {
      const metrics = await fetch(`${localUrl(port + METRICS_PORT_OFFSET)}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('process_cpu_seconds_total');
      expect((await fetch(`${localUrl(port)}/metrics`)).status).toBe(404);
    }
  });

  test('SIGTERM drains and stops every process, leaving none behind', async () => {
    for (const program of [...running].reverse()) {
      await program.stop();
      expect(program.output()).toContain('"msg":"shutting down"');
      expect(program.output()).not.toMatch(/"level":(50|60)/);
    }
  });
});
