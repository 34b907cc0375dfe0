/**
 * Cache-Control from the subgraphs' @cacheControl hints, through the web gateway: an answer is
 * kept for the shortest max age of the fields it selects (fragments included), privately when
 * any of them is private; a mutation, an answer with an error, a root field without a hint, or
 * a refused request is `no-store`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startStack, type Stack } from '../scripts/stack.js';
import { as } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => stack?.close());

async function cacheControl(query: string, headers?: Record<string, string>) {
  const response = await fetch(`${stack.gateways.web!.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(headers ?? (await as('usr_00001', 'email:send'))) },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  return { header: response.headers.get('cache-control'), errors: body.errors?.length ?? 0 };
}

describe('Cache-Control from the schema', () => {
  test.each([
    ['the signed-in user (60 s, private)', '{ me { id name } }', 'max-age=60, private'],
    [
      'with their files and storage total (30 s)',
      '{ me { name files(first: 2) { nodes { key name } pageInfo { hasNextPage } } storageUsedBytes } }',
      'max-age=30, private',
    ],
    [
      'with their messages, through a fragment (30 s)',
      'query { me { ...Mail } } fragment Mail on User { name emailMessages(first: 1) { id status } }',
      'max-age=30, private',
    ],
    ['a root field without a hint (a send in progress)', '{ emailSend(idempotencyKey: "cache") { state } }', 'no-store'],
    ['nothing but __typename', '{ __typename }', 'no-store'],
  ])('%s', async (_label, query, expected) => {
    const { header, errors } = await cacheControl(query);
    expect({ header, errors }).toEqual({ header: expected, errors: 0 });
  });

  test('a mutation, an answer with an error, and a refused request are never kept', async () => {
    expect((await cacheControl('mutation { track(events: [{ userId: "usr_00001", name: "Cached?" }]) { accepted } }')).header).toBe(
      'no-store',
    );
    stack.sandbox.faults('s3', [{ operation: 'ListObjectsV2', status: 403, times: 5 }]);
    try {
      // A user whose folder no earlier answer put in the entity cache: the listing is asked for, and fails.
      expect(await cacheControl('{ me { name files(first: 1) { nodes { key } } } }', await as('usr_00002'))).toEqual({
        header: 'no-store',
        errors: 1,
      });
    } finally {
      stack.sandbox.clearFaults();
    }
    expect((await cacheControl('{ me { name } }', {})).header).toBe('no-store');
  });
});
