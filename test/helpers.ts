import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createSign } from 'node:crypto';
import net from 'node:net';
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { mobile as mobileClient } from '../gateway/clients/mobile.js';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { CALLER_HEADER, createCallerSigner } from '../kit/caller/token.js';
import { SIGNATURE_HEADER, createRequestSignature } from '../kit/caller/body-signature.js';
import { LOCAL } from '../kit/process/local-defaults.js';
import { createLogger } from '../kit/process/logger.js';
import { createRegistry } from '../kit/process/metrics.js';
import { createSubgraphResources } from '../kit/source/resources.js';
import { connectRedis, type RedisConnection } from '../kit/state/redis.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { PROVIDERS, providerEntry, sandboxPortVariable } from '../subgraphs/registry.js';
import { COMMITTED_SECRETS } from '../kit/process/committed-secrets.js';

/** Authorization for a local-development token of `userId` with `scopes`. */
export async function as(userId: string, ...scopes: string[]): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await mintToken(AuthConfig.parse({}), userId, scopes)}` };
}
const signCaller = createCallerSigner(LOCAL.auth.internalTokenSecret);
/** The signed caller header the gateway sends `subgraph`, for tests that call a subgraph directly. */
export async function asGateway(subgraph: string, userId: string, ...scopes: string[]): Promise<Record<string, string>> {
  return { [CALLER_HEADER]: await signCaller({ userId, scopes, client: 'test' }, subgraph) };
}
const requestSignature = createRequestSignature(LOCAL.auth.internalTokenSecret);
/** Headers with the signature of `body` the gateway adds beside a caller header (none without one, or when a test gives its own). */
export function signedFor(headers: Record<string, string>, body: string): Record<string, string> {
  const token = headers[CALLER_HEADER];
  return token && !(SIGNATURE_HEADER in headers) ? { ...headers, [SIGNATURE_HEADER]: requestSignature.sign(token, body) } : headers;
}
/** A back-office caller that may see every user. */
export const ADMIN_USER = 'usr_admin';

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }> };
}

/**
 * A GraphQL POST over real HTTP, the way a client sends it to a gateway; as the admin unless
 * `headers` say who (a direct subgraph call passes `asGateway(...)`).
 */
export async function graphql<T, V extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<T, V> | DocumentNode | string,
  variables?: V,
  headers?: Record<string, string>,
): Promise<GraphQLResponse<T>> {
  const query = typeof document === 'string' ? document : print(document);
  const body = JSON.stringify({ query, variables });
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(headers ? signedFor(headers, body) : await as(ADMIN_USER, 'admin')),
    },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

/** Environment that gives every sandbox provider a free port. */
export const FREE_SANDBOX_PORTS: Record<string, string> = {
  ...Object.fromEntries(PROVIDERS.map((provider) => [sandboxPortVariable(provider.name), '0'])),
  LOG_LEVEL: 'silent',
};

/** Fails when a value carries anything that must never reach a client: a committed credential or a stack. */
export function expectNoLeaks(value: unknown): void {
  const text = JSON.stringify(value);
  for (const leak of [...COMMITTED_SECRETS, 'stacktrace', '    at ']) {
    if (text.includes(leak)) throw new Error(`response leaks ${JSON.stringify(leak)}: ${text.slice(0, 500)}`);
  }
}

/** The committed mobile manifest's id of an operation, as the mobile apps ship it. */
export const persistedId = (name: string) => persistedQueryExtension(persistedManifestFile(mobileClient), name).persistedQuery.sha256Hash;

/** A persisted operation by id only (no query text), the way the mobile apps call. */
export async function persisted<T, V extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<T, V>,
  variables?: V,
  headers?: Record<string, string>,
): Promise<GraphQLResponse<T>> {
  const operationName = getOperationAST(document)!.name!.value;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(headers ?? (await as(ADMIN_USER, 'admin'))),
    },
    body: JSON.stringify({
      operationName,
      variables,
      extensions: persistedQueryExtension(persistedManifestFile(mobileClient), operationName),
    }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
}

/**
 * Waits for a condition instead of a fixed while: asks every `everyMs` and fails, saying what
 * it waited for, when `timeoutMs` passes first.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 20_000, everyMs = 50, what = 'a condition' }: { timeoutMs?: number; everyMs?: number; what?: string } = {},
): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Whether a redis-server binary is here (.ci/run installs Debian's). */
export const HAS_REDIS = spawnSync('redis-server', ['--version']).status === 0;

/**
 * Ports handed out are chosen below Linux's ephemeral range (32768-60999): a port there can be
 * taken, between its choice and its use, by any outgoing connection or any listener on port 0
 * of another test's processes. Each jest worker draws from its own thousand.
 */
const PORTS_PER_WORKER = 1000;
const FIRST_PORT = 12_000;
const WORKER_SLOTS = 20;
const handedOut = new Set<number>();

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A port nothing listens on now, and not handed out before (for services that must come back on the same one). */
export async function freePort(): Promise<number> {
  const worker = (Number(process.env.JEST_WORKER_ID ?? 1) - 1) % WORKER_SLOTS;
  const first = FIRST_PORT + worker * PORTS_PER_WORKER;
  for (let attempt = 0; attempt < PORTS_PER_WORKER; attempt++) {
    const port = first + Math.floor(Math.random() * PORTS_PER_WORKER);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port left between ${first} and ${first + PORTS_PER_WORKER - 1}`);
}

export interface TestRedis {
  url: string;
  port: number;
  process: ChildProcess;
}

/**
 * A throwaway redis-server on loopback: on a free port without persistence, or (`dir`) with
 * an append-only file fsynced on every write, as production runs it, so that a restart on
 * the same `port` keeps what was written.
 */
export async function startRedis(options: { port?: number; dir?: string } = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const persistence = options.dir ? ['--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, port, process: child };
}

/**
 * A Redis for the tests of a file, when redis-server is installed: `connect()` opens a connection
 * to it (one per "replica"), closed with the server after the file's tests.
 */
export function useRedisConnections(): { connect(): RedisConnection } {
  let redis: TestRedis | undefined;
  const connections: RedisConnection[] = [];
  beforeAll(async () => {
    if (HAS_REDIS) redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    redis?.process.kill();
  });
  return {
    connect() {
      if (!redis) throw new Error('no redis-server: guard the test with HAS_REDIS');
      const connection = connectRedis(redis.url, { commandTimeoutMs: 1000, logger: createLogger('test', 'silent') });
      connections.push(connection);
      return connection;
    },
  };
}

/** A resources for sources built in tests (silent logger, its own metrics), with its registry. */
export function testResources() {
  return createSubgraphResources(createLogger('test', 'silent'), createRegistry('test'));
}

/**
 * A sandbox for the tests of a file, handed to `use` once started; faults and call counts
 * are reset after each test.
 */
export function useSandbox(use: (sandbox: Sandbox) => void, users = '50'): void {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: users });
    use(sandbox);
  });
  afterEach(() => {
    sandbox?.clearFaults();
    sandbox?.resetCalls();
  });
  afterAll(() => sandbox?.close());
}

/** How many subscriptions a subgraph process follows `stream` for, from its /metrics. */
export async function streamFollowers(metricsUrl: string, stream: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return Number(new RegExp(`^patchbay_event_stream_followers\\{[^}]*stream="${stream}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

/**
 * A raw GraphQL over SSE request (distinct connections): its status, then each `next` payload as
 * it comes, until the stream completes or breaks (`ended`). A refusal answered as JSON is its one event.
 */
export async function openEventStream(url: string, headers: Record<string, string>, body: unknown) {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const events: Array<{ data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }> = [];
  let completed = false;
  /** The last SSE `id:` received: what an EventSource sends back as Last-Event-ID. */
  let lastEventId: string | undefined;
  // A refusal may come as JSON, or as the stream's one event.
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    events.push((await response.json()) as (typeof events)[number]);
    completed = true;
  }
  const reading = (async () => {
    if (completed || !response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (\w+)/m.exec(message)?.[1];
          const data = /^data: (.*)$/m.exec(message)?.[1];
          const id = /^id: (.*)$/m.exec(message)?.[1];
          if (id !== undefined) lastEventId = id;
          if (event === 'next' && data) events.push(JSON.parse(data));
          if (event === 'complete') completed = true;
        }
      }
    } catch {
      // closed by us
    }
  })();
  return {
    status: response.status,
    events,
    completed: () => completed,
    lastEventId: () => lastEventId,
    /** Settles when the stream completed, broke, or was closed. */
    ended: reading,
    async close() {
      controller.abort();
      await reading;
    },
  };
}

/** The headers SendGrid signs a webhook body with (ECDSA P-256 over timestamp + body), with the sandbox's key unless given. */
export const signSendgrid = (
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
  privateKey: string = providerEntry('sendgrid').credentials.webhookPrivateKey,
) => ({
  'x-twilio-email-event-webhook-timestamp': String(timestamp),
  'x-twilio-email-event-webhook-signature': createSign('sha256')
    .update(String(timestamp) + body)
    .sign(createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' }))
    .toString('base64'),
});
