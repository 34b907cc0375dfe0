/**
 * GraphQL over HTTP: the graphql-http audit suite (61 audits) against the web gateway and
 * against the mobile gateway's program with its safelist off (both with introspection on,
 * which the audits need). No MUST may fail; SHOULD and MAY results are listed in the README.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { auditServer } from 'graphql-http';
import { mobile } from '../gateway/clients/mobile.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/service.js';
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
    const errors = results.filter((r) => r.status === 'error').map((r) => `${r.id} ${r.name}`);
    expect(errors).toEqual([]);
  });
});
