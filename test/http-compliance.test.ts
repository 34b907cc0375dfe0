/**
 * GraphQL over HTTP: the graphql-http audit suite (61 audits) against the web gateway and
 * against the mobile gateway's program with its safelist off (both with introspection on,
 * which the audits need): 58 ok and the 3 notices the README lists; no SHOULD or MUST fails.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { auditServer } from 'graphql-http';
import { mobile } from '../gateway/clients/mobile.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/process/service.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { ADMIN_USER, as } from './helpers.js';

let stack: Stack;
let mobileAdhoc: RunningService;
let authorization: Record<string, string>;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  mobileAdhoc = await startGateway(mobile, {
    ...stack.subgraphUrls,
    MOBILE_GATEWAY_PORT: '0',
    MOBILE_SAFELIST: 'false',
    MOBILE_INTROSPECTION: 'true',
    LOG_LEVEL: 'silent',
  });
  authorization = await as(ADMIN_USER, 'admin');
});
afterAll(async () => {
  await mobileAdhoc?.close();
  await stack?.close();
});

/** The audits' requests, signed in: every operation needs a caller. */
const authorized: typeof fetch = (input, init) =>
  fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers).entries()), ...authorization } });

describe('graphql-http server audits', () => {
  test.each([
    ['web', () => `${stack.gateways.web!.url}/graphql`],
    ['mobile with its safelist off', () => `${mobileAdhoc.url}/graphql`],
  ])('%s: 61 audits, no error', async (_name, url) => {
    const results = await auditServer({ url: url(), fetchFn: authorized });
    expect(results).toHaveLength(61);
    const tally = ['ok', 'notice', 'warn', 'error'].map((status) => `${results.filter((r) => r.status === status).length} ${status}`);
    const notices = results.filter((r) => r.status !== 'ok').map((r) => `  ${r.status} ${r.id} ${r.name}`);
    console.log(`graphql-http audit, ${_name}: ${tally.join(', ')}\n${notices.join('\n')}`);
    // The three notices are GETs a browser form could send, which CSRF prevention refuses.
    expect(results.filter((r) => r.status !== 'ok').map((r) => `${r.status} ${r.id}`)).toEqual([
      'notice 5A70',
      'notice D6D5',
      'notice 6A70',
    ]);
  });
});
