/**
 * GraphQL over WebSocket (graphql-ws's own client, over `ws`) on the web gateway's /graphql:
 * auth at connect, a user's upload pushed on a subscription of the connection, several
 * subscriptions per connection up to the limit, an idle connection closed, and a stopping
 * gateway telling its subscriptions RECONNECT before it closes the connection (1001).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startStack, type Stack } from '../scripts/stack.js';
import { startGateway } from '../gateway/index.js';
import { web } from '../gateway/clients/web.js';
import type { RunningService } from '../kit/process/service.js';
import { mobile } from '../gateway/clients/mobile.js';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { as, streamFollowers, until } from './helpers.js';

let stack: Stack;
let gateway: RunningService;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  gateway = await startGateway(web, {
    ...stack.subgraphUrls,
    LOG_LEVEL: 'silent',
    WEB_GATEWAY_PORT: '0',
    WEB_METRICS_PORT: '0',
    WEB_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
    WEB_WEBSOCKET_IDLE_MS: '600',
  });
});
afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

const wsUrl = () => `${gateway.url.replace(/^http/, 'ws')}/graphql`;
const FILE_STORED = 'subscription { storedObjectCreated { eventId file { name } owner { id } } }';

/** A graphql-ws client of the gateway as `headers` say, and what happened to its connection. */
function connect(headers: Record<string, string>) {
  const closes: Array<{ code: number; reason: string }> = [];
  const client: Client = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams: headers,
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => closes.push({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
  });
  const subscribe = (query: string) => {
    const results: Array<{
      data?: Record<string, unknown> | null;
      errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
    }> = [];
    let done = false;
    const dispose = client.subscribe(
      { query },
      {
        next: (result) => results.push(result as (typeof results)[number]),
        error: (error) => {
          results.push({ errors: Array.isArray(error) ? error : [{ message: String((error as CloseEvent).reason ?? error) }] });
          done = true;
        },
        complete: () => (done = true),
      },
    );
    return { results, done: () => done, dispose };
  };
  return { client, closes, subscribe };
}

/** Once the subscriptions of earlier tests are let go (asynchronously) by the subgraph: none. */
const noFollowers = async () => {
  await until(async () => (await followers()) === 0, { what: 'no subscription left from earlier tests' });
  return 0;
};

const followers = () => streamFollowers(stack.subgraphs.storage!.metricsUrl!, 'storage');

describe('GraphQL over WebSocket on the gateway', () => {
  test('a connection without a valid token is closed 4403 at connect', async () => {
    const anonymous = connect({});
    const sub = anonymous.subscribe(FILE_STORED);
    await until(() => anonymous.closes.length > 0, { what: 'the close' });
    expect(anonymous.closes[0]).toEqual({ code: 4403, reason: 'Forbidden' });
    expect(sub.done()).toBe(true);
    await anonymous.client.dispose();
  });

  test("a user's upload is pushed on their subscription; a connection carries at most its limit of subscriptions", async () => {
    const [alice] = stack.sandbox.seed.users;
    const connection = connect(await as(alice!.id));
    const before = await noFollowers();
    const first = connection.subscribe(FILE_STORED);
    const second = connection.subscribe(FILE_STORED);
    try {
      await until(async () => (await followers()) === before + 2, { what: 'two subscriptions followed' });
      const third = connection.subscribe(FILE_STORED);
      await until(() => third.done(), { what: 'the third to be refused' });
      expect(third.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code ?? e.message)).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      const name = `ws-${randomUUID()}.png`;
      stack.sandbox.providers.s3.store({ key: `users/${alice!.id}/${name}`, body: Buffer.from('ws'), contentType: 'image/png' });
      await until(() => first.results.length > 0 && second.results.length > 0, { what: 'the pushed file on both' });
      expect(first.results[0]).toEqual({
        data: { storedObjectCreated: { eventId: expect.stringMatching(/^\d+-\d+$/), file: { name }, owner: { id: alice!.id } } },
      });
    } finally {
      first.dispose();
      second.dispose();
      await connection.client.dispose();
    }
  });

  test("Apollo Client's subscription support (GraphQLWsLink) gets a user's upload with its owner joined from accounts", async () => {
    const [, bob] = stack.sandbox.seed.users;
    const wsClient = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: await as(bob!.id), retryAttempts: 0 });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
    const pushed: Array<{ storedObjectCreated: { file: { name: string }; owner: { id: string; name: string } } }> = [];
    const before = await noFollowers();
    const subscription = apollo
      .subscribe<(typeof pushed)[number]>({
        query: gql`
          subscription FileStored {
            storedObjectCreated {
              eventId
              file {
                name
              }
              owner {
                id
                name
              }
            }
          }
        `,
      })
      .subscribe({ next: (result) => result.data && pushed.push(result.data) });
    try {
      await until(async () => (await followers()) === before + 1, { what: 'the subscription to be followed' });
      stack.sandbox.providers.s3.store({ key: `users/${bob!.id}/apollo.png`, body: Buffer.from('apollo'), contentType: 'image/png' });
      await until(() => pushed.length > 0, { what: 'the pushed file' });
      expect(pushed[0]!.storedObjectCreated).toMatchObject({ file: { name: 'apollo.png' }, owner: { id: bob!.id, name: bob!.name } });
    } finally {
      subscription.unsubscribe();
      await wsClient.dispose();
      apollo.stop();
    }
  });

  test('the mobile app subscribes over WebSocket by its persisted operation id; an app older than the minimum is told to update', async () => {
    const [, , carol] = stack.sandbox.seed.users;
    const url = `${stack.gateways.mobile!.url.replace(/^http/, 'ws')}/graphql`;
    const app = createClient({
      url,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { 'x-app-version': '9.9.9' } });
        }
      },
      connectionParams: await as(carol!.id),
      retryAttempts: 0,
    });
    const pushed: Array<{ data?: { storedObjectCreated?: { file: { name: string } } } | null; errors?: unknown }> = [];
    const before = await noFollowers();
    const dispose = app.subscribe(
      // graphql-ws wants a query string: an app sending the id alone sends an empty one.
      { query: '', extensions: persistedQueryExtension(persistedManifestFile(mobile), 'FileStored'), variables: {} },
      {
        next: (result) => pushed.push(result as (typeof pushed)[number]),
        error: (error) => pushed.push({ errors: error }),
        complete: () => undefined,
      },
    );
    try {
      await until(async () => (await followers()) === before + 1 || pushed.length > 0, { what: 'the subscription to be followed' });
      expect(pushed).toEqual([]);
      stack.sandbox.providers.s3.store({ key: `users/${carol!.id}/phone.png`, body: Buffer.from('phone'), contentType: 'image/png' });
      await until(() => pushed.length > 0, { what: 'the pushed file' });
      expect(pushed[0]!.data?.storedObjectCreated?.file.name).toBe('phone.png');
    } finally {
      dispose();
      await app.dispose();
    }
    // Below the minimum version the mobile gateway serves (releases.json), refused at connect.
    const old = new WebSocket(url, 'graphql-transport-ws', { headers: { 'x-app-version': '0.0.1' } });
    await new Promise((resolve) => old.once('open', resolve));
    old.send(JSON.stringify({ type: 'connection_init', payload: await as(carol!.id) }));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      old.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 4426, reason: expect.stringMatching(/^UPGRADE_REQUIRED: update to \d+\.\d+\.\d+ or later$/) });
  });

  test('a connection left without a subscription is closed as idle (1000)', async () => {
    const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: await as('usr_00002') }));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 1000, reason: 'Idle' });
  });

  test('a stopping gateway tells each subscription RECONNECT, then closes the connection 1001', async () => {
    const own = await startGateway(web, { ...stack.subgraphUrls, LOG_LEVEL: 'silent', WEB_GATEWAY_PORT: '0', WEB_METRICS_PORT: '0' });
    const socket = new WebSocket(`${own.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const messages: Array<{ type: string; payload?: unknown }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: await as('usr_00003') }));
    await until(() => messages.some((m) => m.type === 'connection_ack'), { what: 'the ack' });
    const before = await noFollowers();
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: FILE_STORED } }));
    await until(async () => (await followers()) === before + 1, { what: 'the subscription to be followed' });
    await own.close();
    expect(await closed).toEqual({ code: 1001, reason: 'Gateway stopping: reconnect' });
    const next = messages.find((m) => m.type === 'next') as { payload: { errors: Array<{ extensions: { code: string } }> } } | undefined;
    expect(next?.payload.errors.map((e) => e.extensions.code)).toEqual(['RECONNECT']);
  });
});
