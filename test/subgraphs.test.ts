import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { RunningService } from '../kit/process/service.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { subgraph as accounts } from '../subgraphs/accounts/index.js';
import { subgraph as analytics } from '../subgraphs/analytics/index.js';
import { subgraph as email } from '../subgraphs/email/index.js';
import { subgraph as storage } from '../subgraphs/storage/index.js';
import { ADMIN_USER, FREE_SANDBOX_PORTS, asGateway, expectNoLeaks, graphql } from './helpers.js';
import { envName } from '../kit/process/env-name.js';

let sandbox: Sandbox;
const running: Record<string, RunningService> = {};
const url = (name: string) => `${running[name]!.url}/graphql`;
/** A query straight to a subgraph, with the caller header the gateway would send it (as the admin). */
const ask = async <T, V extends Record<string, unknown>>(name: string, query: string, variables?: V, baseUrl = url(name)) =>
  graphql<T, V>(baseUrl, query, variables, await asGateway(name, ADMIN_USER, 'admin'));
const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { %s } } }';
const entities = (name: string, selection: string, representations: object[]) =>
  ask<{ _entities: Array<Record<string, unknown> | null> }, { r: object[] }>(name, ENTITIES.replace('%s', selection), {
    r: representations,
  });

beforeAll(async () => {
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '300' });
  for (const definition of [accounts, email, storage, analytics]) {
    running[definition.name] = await startSubgraph(definition, {
      ...sandbox.env(),
      LOG_LEVEL: 'silent',
      [envName(definition.name, 'PORT')]: '0',
    });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(running).map((s) => s.close()));
  await sandbox?.close();
});

describe('accounts subgraph', () => {
  test('resolves many User references with one ?ids= call, in order, null for unknown ids', async () => {
    sandbox.resetCalls();
    const refs = ['usr_00003', 'usr_99999', 'usr_00001', 'usr_00003'].map((id) => ({ __typename: 'User', id }));
    const { body } = await entities('accounts', 'id name email', refs);
    const users = sandbox.seed.users;
    expect(body.data?._entities).toEqual([
      { id: 'usr_00003', name: users[2]!.name, email: users[2]!.email },
      null,
      { id: 'usr_00001', name: users[0]!.name, email: users[0]!.email },
      { id: 'usr_00003', name: users[2]!.name, email: users[2]!.email },
    ]);
    expect(sandbox.calls().accounts).toEqual({ getUsersByIds: 1 });
  });

  test('users() pages with the service cursor', async () => {
    const first = await ask<{ users: { nodes: Array<{ id: string }>; pageInfo: { endCursor: string } } }, Record<string, unknown>>(
      'accounts',
      '{ users(first: 2) { nodes { id } pageInfo { hasNextPage endCursor } } }',
    );
    const cursor = first.body.data!.users.pageInfo.endCursor;
    const next = await ask<{ users: { nodes: Array<{ id: string }> } }, { after: string }>(
      'accounts',
      'query($after: String) { users(first: 2, after: $after) { nodes { id } } }',
      { after: cursor },
    );
    expect(next.body.data!.users.nodes.map((u) => u.id)).toEqual(['usr_00003', 'usr_00004']);
  });
});

describe('email subgraph', () => {
  test("messages of many users come from one Email Activity query, using the @requires'd email", async () => {
    sandbox.resetCalls();
    const users = sandbox.seed.users.slice(0, 20);
    const { body } = await entities(
      'email',
      'emailMessages(first: 3) { id to }',
      users.map((u) => ({ __typename: 'User', id: u.id, email: u.email })),
    );
    users.forEach((u, i) => {
      const expected = sandbox.seed.messages
        .filter((m) => m.to_email === u.email)
        .slice(0, 3)
        .map((m) => m.msg_id);
      expect((body.data!._entities[i]!.emailMessages as Array<{ id: string }>).map((m) => m.id)).toEqual(expected);
    });
    expect(sandbox.calls().sendgrid).toEqual({ activityQuery: 1 });
  });
});

describe('storage subgraph', () => {
  test('files are paged by our cursor; storageUsedBytes sums the whole listing', async () => {
    const owner = sandbox.seed.files[0]!.key.split('/')[1]!;
    const files = sandbox.seed.files.filter((f) => f.key.startsWith(`users/${owner}/`));
    const page = await entities('storage', 'files(first: 1) { nodes { key } pageInfo { hasNextPage endCursor } } storageUsedBytes', [
      { __typename: 'User', id: owner },
    ]);
    const user = page.body.data!._entities[0] as {
      files: { nodes: Array<{ key: string }>; pageInfo: { endCursor: string } };
      storageUsedBytes: number;
    };
    expect(user.files.nodes[0]!.key).toBe(files[0]!.key);
    expect(user.storageUsedBytes).toBe(files.reduce((s, f) => s + f.size, 0));
    const query =
      'query($r: [_Any!]!, $after: String) { _entities(representations: $r) { ... on User { files(first: 100, after: $after) { nodes { key } } } } }';
    const next = await ask<{ _entities: Array<{ files: { nodes: Array<{ key: string }> } }> }, Record<string, unknown>>('storage', query, {
      r: [{ __typename: 'User', id: owner }],
      after: user.files.pageInfo.endCursor,
    });
    expect(next.body.data!._entities[0]!.files.nodes.map((n) => n.key)).toEqual(files.slice(1).map((f) => f.key));
  });

  test("a cursor of another user's list is refused", async () => {
    const foreign = Buffer.from('users/usr_00002/x.txt').toString('base64url');
    const query =
      'query($r: [_Any!]!, $after: String) { _entities(representations: $r) { ... on User { files(after: $after) { nodes { key } } } } }';
    const { body } = await ask('storage', query, { r: [{ __typename: 'User', id: 'usr_00001' }], after: foreign });
    expect(body.errors?.[0]).toMatchObject({ message: 'after is not a cursor of this list', extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('analytics subgraph', () => {
  test('recent events of many users come from one stream query', async () => {
    sandbox.resetCalls();
    const refs = sandbox.seed.users.slice(0, 30).map((u) => ({ __typename: 'User', id: u.id }));
    const { body } = await entities('analytics', 'lastSeenAt recentEvents(last: 2) { name }', refs);
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toHaveLength(30);
    expect(sandbox.calls().mixpanel).toEqual({ mixpanelStream: 1 });
  });
});

describe('entities answer to the same rights as root fields', () => {
  // What each subgraph adds to User, asked for through _entities as the gateway would.
  const ownFields: Record<string, string> = {
    accounts: 'id name email createdAt',
    email: 'emailMessages { id subject to } emailDeliverability',
    storage: 'files { nodes { key } } storageUsedBytes',
    analytics: 'recentEvents { name } lastSeenAt',
  };
  test.each(Object.keys(ownFields))('%s: an ordinary caller gets nothing of another user, and their own', async (name) => {
    const [self, other] = [sandbox.seed.users[0]!, sandbox.seed.users[1]!];
    const representation = (user: { id: string; email: string }) => ({ __typename: 'User', id: user.id, email: user.email });
    const query = ENTITIES.replace('%s', ownFields[name]!);
    const { body } = await graphql<{ _entities: Array<Record<string, unknown> | null> }, { r: object[] }>(
      url(name),
      query,
      { r: [representation(other), representation(self)] },
      await asGateway(name, self.id),
    );
    const [theirs, mine] = body.data!._entities;
    // Nothing of theirs: the entity is null or each of its own fields is.
    const ownKeys = ownFields[name]!.split(/[\s{}]+/).filter((field, i, all) => field && all.indexOf(field) === i);
    for (const key of ownKeys.filter((key) => key !== 'id' && key in (theirs ?? {}))) expect(theirs?.[key]).toBeNull();
    expect(JSON.stringify(theirs)).not.toContain(other.email);
    expect(JSON.stringify(body)).not.toContain(other.name);
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(body.errors!.every((e) => e.extensions?.code === 'FORBIDDEN' && e.path?.[1] === 0)).toBe(true);
    expect(mine).not.toBeNull();
    expect(Object.values(mine!).every((value) => value !== null)).toBe(true);
  });
});

describe('an upstream that is down', () => {
  test('fails the field with a typed error that names the source and leaks nothing', async () => {
    const down = await startSubgraph(accounts, { ACCOUNTS_API_URL: 'http://127.0.0.1:9', ACCOUNTS_PORT: '0', LOG_LEVEL: 'silent' });
    try {
      const { status, body } = await ask('accounts', '{ user(id: "usr_00001") { id } }', undefined, `${down.url}/graphql`);
      expect(status).toBe(200);
      expect(body.data).toEqual({ user: null });
      expect(body.errors?.[0]).toMatchObject({
        message: 'Upstream accounts.api is unavailable',
        path: ['user'],
        extensions: { code: 'UPSTREAM_UNAVAILABLE', source: 'accounts.api', retryable: true },
      });
      expectNoLeaks(body);
      expect(JSON.stringify(body)).not.toContain('127.0.0.1:9');
    } finally {
      await down.close();
    }
  });

  test('a malformed upstream body is UPSTREAM_BAD_RESPONSE', async () => {
    const impostor = http.createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end('{"data":"not a list","secret":"s3cr3t"}'),
    );
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const { port } = impostor.address() as AddressInfo;
    const odd = await startSubgraph(accounts, { ACCOUNTS_API_URL: `http://127.0.0.1:${port}`, ACCOUNTS_PORT: '0', LOG_LEVEL: 'silent' });
    try {
      const { body } = await ask('accounts', '{ users(first: 1) { nodes { id } } }', undefined, `${odd.url}/graphql`);
      expect(body.errors?.[0]).toMatchObject({
        message: 'Upstream accounts.api sent a response we could not read',
        extensions: { code: 'UPSTREAM_BAD_RESPONSE', source: 'accounts.api', retryable: false },
      });
      expect(JSON.stringify(body)).not.toContain('s3cr3t');
    } finally {
      await odd.close();
      impostor.close();
    }
  });
});
