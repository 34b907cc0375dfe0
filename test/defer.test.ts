/**
 * @defer on web: Dashboard defers its Mixpanel activity. Apollo Client 4, reading the
 * incremental (multipart/mixed) response, gets the user first and the activity after it;
 * a client that accepts only JSON gets the whole result in one response; mobile has no @defer.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApolloClient, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { DashboardDocument } from '../clients/web/__generated__/operations.js';
import { mobile } from '../gateway/clients/mobile.js';
import { startGateway } from '../gateway/index.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { as, graphql } from './helpers.js';

let stack: Stack;
let authorization: string;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  authorization = (await as('usr_00001')).authorization!;
});
afterAll(() => stack?.close());

describe('Dashboard with its activity deferred', () => {
  test('Apollo Client renders the user first, then the activity arrives in the same response', async () => {
    // Mixpanel answers late; the rest of the Dashboard does not wait for it.
    stack.sandbox.faults('mixpanel', [{ operation: 'mixpanelStream', latencyMs: 400 }]);
    try {
      const seenBodies: string[] = [];
      const client = new ApolloClient({
        link: new HttpLink({
          uri: `${stack.gateways.web!.url}/graphql`,
          headers: { authorization },
          fetch: async (input, init) => {
            const response = await fetch(input, init);
            seenBodies.push(response.headers.get('content-type') ?? '');
            return response;
          },
        }),
        cache: new InMemoryCache(),
        incrementalHandler: new Defer20220824Handler(),
      });
      const results: Array<{ user?: Record<string, unknown> | null }> = [];
      await new Promise<void>((resolve, reject) => {
        const subscription = client
          .watchQuery({ query: DashboardDocument as unknown as DocumentNode, variables: { userId: 'usr_00001' } })
          .subscribe({
            next: (result) => {
              if (result.data) results.push(result.data as { user?: Record<string, unknown> });
              if (result.dataState === 'complete') {
                subscription.unsubscribe();
                resolve();
              }
            },
            error: reject,
          });
      });
      expect(seenBodies[0]).toMatch(/^multipart\/mixed/);
      expect(results.length).toBeGreaterThanOrEqual(2);
      const [first, last] = [results[0]!.user!, results.at(-1)!.user!];
      expect(first).toMatchObject({ id: 'usr_00001', name: expect.any(String), files: expect.any(Object) });
      expect(first.recentEvents).toBeUndefined();
      expect(last.recentEvents).toEqual(expect.arrayContaining([expect.objectContaining({ name: expect.any(String) })]));
      expect(last.lastSeenAt).toEqual(expect.any(String));
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  test('a client that accepts only JSON gets one complete result', async () => {
    const { status, headers, body } = await graphql(
      `${stack.gateways.web!.url}/graphql`,
      DashboardDocument,
      { userId: 'usr_00001' },
      { authorization, accept: 'application/json' },
    );
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.errors).toBeUndefined();
    expect(body.data!.user).toMatchObject({ id: 'usr_00001', recentEvents: expect.any(Array), lastSeenAt: expect.any(String) });
  });

  test('mobile serves no @defer (its program with the safelist off, so the query reaches validation)', async () => {
    const adhoc = await startGateway(mobile, {
      ...stack.subgraphUrls,
      MOBILE_GATEWAY_PORT: '0',
      MOBILE_SAFELIST: 'false',
      LOG_LEVEL: 'silent',
    });
    try {
      const { status, body } = await graphql(`${adhoc.url}/graphql`, '{ me { id ... @defer { name } } }', undefined, { authorization });
      expect(status).toBe(400);
      expect(body.errors?.[0]).toMatchObject({ message: 'Unknown directive "@defer".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    } finally {
      await adhoc.close();
    }
  });
});
