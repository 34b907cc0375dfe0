/**
 * Query limits per client: depth, aliases, tokens, estimated cost and body size, each
 * refused before execution with an error that names the limit and how far it was passed;
 * each can be set per deployment by environment, and cost can be measured without refusing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { web } from '../gateway/clients/web.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/process/service.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { ADMIN_USER, as, graphql } from './helpers.js';

let stack: Stack;
let gateway: string;
let shallow: RunningService;
let measuring: RunningService;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  gateway = `${stack.gateways.web!.url}/graphql`;
  // The schema has no cycles, so no valid query is deeper than 4: a deployment that sets a
  // depth limit of 3 shows the limit at work. Set by environment, as an operator would.
  shallow = await startGateway(web, {
    ...stack.subgraphUrls,
    WEB_GATEWAY_PORT: '0',
    LOG_LEVEL: 'silent',
    WEB_MAX_DEPTH: '3',
  });
  measuring = await startGateway(web, {
    ...stack.subgraphUrls,
    WEB_GATEWAY_PORT: '0',
    LOG_LEVEL: 'silent',
    WEB_MAX_COST: '10',
    WEB_COST_MODE: 'measure',
    WEB_MAX_FIELD_REPEATS: '2',
    WEB_MAX_SELECTIONS: '6',
  });
});
afterAll(async () => {
  await shallow?.close();
  await measuring?.close();
  await stack?.close();
});

async function refusedWith(url: string, query: string, variables?: Record<string, unknown>, code = 'GRAPHQL_VALIDATION_FAILED') {
  const { status, body } = await graphql(url, query, variables);
  expect(status).toBe(400);
  expect(body.data).toBeUndefined();
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]!.extensions?.code).toBe(code);
  return body.errors![0]!.message;
}

describe('query limits of the web client', () => {
  test('depth counts fields; fragments add none', async () => {
    const deep = '{ user(id: "usr_00001") { files(first: 1) { nodes { key } } } }';
    expect(await refusedWith(`${shallow.url}/graphql`, deep)).toBe('Query depth limit of 3 exceeded, found 4.');
    expect((await graphql(gateway, deep)).body.errors).toBeUndefined();
    // Four fields deep through a spread and an inline fragment: still four.
    const fragments = '{ user(id: "usr_00001") { ...F } } fragment F on User { files(first: 1) { nodes { ... on File { key } } } }';
    expect(await refusedWith(`${shallow.url}/graphql`, fragments)).toBe('Query depth limit of 3 exceeded, found 4.');
    const shallowEnough = '{ user(id: "usr_00001") { ...N } } fragment N on User { ... on User { name } }';
    expect((await graphql(`${shallow.url}/graphql`, shallowEnough)).body.errors).toBeUndefined();
  });

  test('aliases', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect(await refusedWith(gateway, aliases(web.limits.aliases + 1))).toBe(
      `Aliases limit of ${web.limits.aliases} exceeded, found ${web.limits.aliases + 1}.`,
    );
    expect((await graphql(gateway, aliases(web.limits.aliases))).body.errors).toBeUndefined();
  });

  test('tokens: parsing stops at the limit', async () => {
    // Each `{ userId: "u", name: "n" }` is 8 tokens (commas are not tokens); 13 around them.
    const events = (n: number) => `mutation { track(events: [${'{ userId: "u", name: "n" }, '.repeat(n)}]) { accepted } }`;
    const fits = Math.floor((web.limits.tokens - 13) / 8);
    expect(await refusedWith(gateway, events(fits + 1), undefined, 'GRAPHQL_PARSE_FAILED')).toBe(
      `Token limit of ${web.limits.tokens} exceeded.`,
    );
    // Four times the limit (still under the document size limit) costs no more to refuse: parsing stops.
    expect(await refusedWith(gateway, events(fits * 4), undefined, 'GRAPHQL_PARSE_FAILED')).toBe(
      `Token limit of ${web.limits.tokens} exceeded.`,
    );
    // At the limit it parses (and is then refused for what it is: these events are not the caller's).
    expect((await graphql(gateway, events(fits))).body.errors?.[0]?.extensions?.code).not.toBe('GRAPHQL_PARSE_FAILED');
  });

  test('repeats of one field at one place, merged across fragments, and selections with fragments expanded', async () => {
    const { fieldRepeats, selections } = web.limits;
    const repeated = (n: number) => `{ ${Array(n).fill('me { id }').join(' ')} }`;
    expect(await refusedWith(gateway, repeated(fieldRepeats + 1))).toBe(
      `Repeated field limit of ${fieldRepeats} exceeded: "me" is selected more than ${fieldRepeats} times at one place.`,
    );
    expect((await graphql(gateway, repeated(fieldRepeats))).body.errors).toBeUndefined();
    // Merged as execution merges them: \`id\` inside each \`me\` lands in one place.
    const nested = `{ ${Array(5)
      .fill(`me { ${Array(5).fill('id').join(' ')} }`)
      .join(' ')} }`;
    expect(await refusedWith(gateway, nested)).toBe(
      `Repeated field limit of ${fieldRepeats} exceeded: "id" is selected more than ${fieldRepeats} times at one place.`,
    );
    // Components composing fragments on one type (each selecting id) are ordinary: admitted.
    const composed = `{ me { ${Array.from({ length: 12 }, (_, i) => `...C${i}`).join(' ')} } } ${Array.from({ length: 12 }, (_, i) => `fragment C${i} on User { id name }`).join(' ')}`;
    expect((await graphql(gateway, composed)).body.errors).toBeUndefined();
    // A few fragments, each spread twice by the one before: small to send, huge expanded.
    const doubling = `{ me { ...F0 } } ${Array.from({ length: 12 }, (_, i) => `fragment F${i} on User { a${i}: id ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F12 on User { name }`;
    expect(await refusedWith(gateway, doubling)).toMatch(
      new RegExp(`^(Selection limit of ${selections}|Repeated field limit of ${fieldRepeats}) exceeded`),
    );
  });

  test('repeats and selections are set by environment too', async () => {
    const url = `${measuring.url}/graphql`;
    expect(await refusedWith(url, '{ me { id } me { id } me { id } }')).toBe(
      'Repeated field limit of 2 exceeded: "me" is selected more than 2 times at one place.',
    );
    expect(await refusedWith(url, '{ me { id name email createdAt lastSeenAt storageUsedBytes } }')).toBe('Selection limit of 6 exceeded.');
    expect((await graphql(url, '{ me { id name email } me { id } }')).body.errors).toBeUndefined();
  });

  test('estimated cost, with page sizes from the variables sent', async () => {
    const query = 'query($n: Int) { users(first: $n) { nodes { files(first: $n) { nodes { key } } } } }';
    // @listSize(slicingArguments: ["first"], sizedFields: ["nodes"]) on users and files: the
    // connection costs 1, each of its n nodes 1, and per user the files connection 1 and n files.
    const cost = (n: number) => 1 + n * (1 + 1 + n);
    expect(await refusedWith(gateway, query, { n: 70 }, 'COST_ESTIMATED_TOO_EXPENSIVE')).toBe(
      `Cost limit of ${web.limits.cost} exceeded, estimated ${cost(70)}.`,
    );
    const cheap = await graphql(gateway, query, { n: 5 });
    expect(cheap.body.errors).toBeUndefined();
    // The gateway keeps an estimate per document only when no variable sizes a list: after a cheap run, the same document is dear again.
    expect(await refusedWith(gateway, query, { n: 70 }, 'COST_ESTIMATED_TOO_EXPENSIVE')).toBe(
      `Cost limit of ${web.limits.cost} exceeded, estimated ${cost(70)}.`,
    );
    const literal = '{ users(first: 70) { nodes { files(first: 70) { nodes { key } } } } }';
    for (let run = 0; run < 2; run++) {
      expect(await refusedWith(gateway, literal, {}, 'COST_ESTIMATED_TOO_EXPENSIVE')).toBe(
        `Cost limit of ${web.limits.cost} exceeded, estimated ${cost(70)}.`,
      );
    }
  });

  test('measure mode: the estimate is reported in extensions, nothing is refused', async () => {
    const query = '{ users(first: 20) { nodes { id } } }';
    const { status, body } = await graphql(`${measuring.url}/graphql`, query);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect((body as { extensions?: unknown }).extensions).toEqual({ cost: { estimated: 1 + 20, max: 10 } });
  });

  test('request body size', async () => {
    const response = await fetch(gateway, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await as(ADMIN_USER, 'admin')) },
      body: JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(web.maxBodyBytes)}` }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: `Request body is larger than ${web.maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });
});
