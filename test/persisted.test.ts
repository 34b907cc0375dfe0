/**
 * Persisted queries with a real client (Apollo Client 4 and its persisted-queries link):
 * APQ on web, the manifest safelist on mobile; and the refusals of the safelist over plain
 * HTTP, with GraphQL-over-HTTP status codes and media types.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApolloClient, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { HomeDocument } from '../clients/mobile/__generated__/operations.js';
import { DashboardDocument } from '../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { ADMIN_USER, as, expectNoLeaks, persistedId } from './helpers.js';

let stack: Stack;
let authorization: string;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  authorization = (await as(ADMIN_USER, 'admin')).authorization!;
});
afterAll(() => stack?.close());

const manifest = JSON.parse(readFileSync(new URL('../clients/mobile/persisted-query-manifest.json', import.meta.url), 'utf8'));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
interface Body {
  data?: { user: { id: string } } & Record<string, unknown>;
  errors?: Array<{ message: string; extensions: { code: string } }>;
}
const json = async (response: Response) => (await response.json()) as Body;

/** An Apollo Client on one gateway whose every request body is recorded. */
function client(gateway: string, persisted: PersistedQueryLink) {
  const sent: Array<{ query?: string; extensions?: { persistedQuery?: { sha256Hash: string } } }> = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') sent.push(JSON.parse(init.body));
    return fetch(input, init);
  };
  const http = new HttpLink({ uri: `${stack.gateways[gateway]!.url}/graphql`, fetch: recordingFetch, headers: { authorization } });
  // Dashboard defers part of itself: the client reads incremental responses.
  return {
    apollo: new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache(), incrementalHandler: new Defer20220824Handler() }),
    sent,
  };
}

describe('web: automatic persisted queries', () => {
  test('an unknown hash is registered once with its text; every later client sends the hash alone', async () => {
    const variables = { userId: 'usr_00001' };
    const first = client('web', new PersistedQueryLink({ sha256 }));
    const result = await first.apollo.query({ query: DashboardDocument as unknown as DocumentNode, variables });
    expect(result.data).toMatchObject({ user: { id: 'usr_00001' } });
    // Hash only, PERSISTED_QUERY_NOT_FOUND, then hash and text.
    expect(first.sent.map((b) => [Boolean(b.query), Boolean(b.extensions?.persistedQuery)])).toEqual([
      [false, true],
      [true, true],
    ]);

    const second = client('web', new PersistedQueryLink({ sha256 }));
    await second.apollo.query({ query: DashboardDocument as unknown as DocumentNode, variables });
    expect(second.sent.map((b) => Boolean(b.query))).toEqual([false]);
  });
});

describe('mobile: safelist from the committed manifest', () => {
  const manifestLink = () => new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }));

  test('the app runs its operations by manifest id, never sending their text', async () => {
    const app = client('mobile', manifestLink());
    const result = await app.apollo.query({ query: HomeDocument as unknown as DocumentNode, variables: { userId: 'usr_00001' } });
    expect(result.data).toMatchObject({ user: { id: 'usr_00001', files: { nodes: expect.any(Array) } } });
    expect(app.sent).toHaveLength(1);
    expect(app.sent[0]!.query).toBeUndefined();
    expect(app.sent[0]!.extensions!.persistedQuery!.sha256Hash).toBe(persistedId('Home'));
  });

  test('an operation outside the manifest cannot be registered: the client gets PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const app = client('mobile', new PersistedQueryLink({ sha256 }));
    const outside = { kind: 'Document', definitions: (HomeDocument as unknown as DocumentNode).definitions } as DocumentNode;
    const renamed = JSON.parse(JSON.stringify(outside).replace('"value":"Home"', '"value":"HomeCopy"')) as DocumentNode;
    await expect(app.apollo.query({ query: renamed, variables: { userId: 'usr_00001' } })).rejects.toThrow(
      /No persisted operation has the id/,
    );
    // Asked once by hash; no text follows: the refusal is not "not found", so there is nothing to register.
    expect(app.sent.map((b) => Boolean(b.query))).toEqual([false]);
  });
});

describe('mobile safelist refusals over HTTP', () => {
  const mobile = () => `${stack.gateways.mobile!.url}/graphql`;
  const post = (body: object, accept = 'application/graphql-response+json') =>
    fetch(mobile(), { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization }, body: JSON.stringify(body) });

  test('a raw query is refused with 400 and the media type the client accepts', async () => {
    const response = await post({ query: '{ me { id } }' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const body = await json(response);
    expect(body).toEqual({
      errors: [{ message: expect.stringMatching(/persisted operations only/), extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } }],
    });
    const legacy = await post({ query: '{ me { id } }' }, 'application/json');
    expect(legacy.status).toBe(400);
    expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
  });

  test('an unknown id is refused, also when it comes with text: nothing is registered', async () => {
    const query = 'query Mine { me { id } }';
    const withText = await post({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect(withText.status).toBe(400);
    expect((await json(withText)).errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const again = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect((await json(again)).errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  test('a manifest id runs the manifest text, whatever text comes with it', async () => {
    const response = await post({
      query: '{ users(first: 100) { nodes { email } } }',
      variables: { userId: 'usr_00002' },
      extensions: { persistedQuery: { version: 1, sha256Hash: persistedId('Home') } },
    });
    const body = await json(response);
    expect(Object.keys(body.data!)).toEqual(['user']);
    expect(body.data!.user.id).toBe('usr_00002');
    expectNoLeaks(body);
  });

  test('a persisted query runs over GET too', async () => {
    const params = new URLSearchParams({
      variables: JSON.stringify({ userId: 'usr_00001' }),
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: persistedId('Home') } }),
    });
    const response = await fetch(`${mobile()}?${params}`, { headers: { authorization, 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect((await json(response)).data!.user.id).toBe('usr_00001');
  });
});
