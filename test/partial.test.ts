import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { DashboardDocument } from '../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { expectNoLeaks, graphql } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => stack?.close());

test('with the storage subgraph gone, Dashboard still serves the user, messages and events', async () => {
  const storageUrl = stack.subgraphs.storage!.url;
  await stack.subgraphs.storage!.close();
  const { status, body } = await graphql(`${stack.gateways.web!.url}/graphql`, DashboardDocument, { userId: 'usr_00001' });
  expect(status).toBe(200);
  const user = body.data!.user!;
  expect(user.name).toBe(stack.sandbox.seed.users[0]!.name);
  expect(user.files).toBeNull();
  expect(user.storageUsedBytes).toBeNull();
  expect(user.emailMessages!.length).toBeGreaterThan(0);
  expect(user.recentEvents!.length).toBeGreaterThan(0);
  expect(body.errors).toEqual([
    { message: 'Subgraph storage is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'storage', retryable: true } },
  ]);
  expectNoLeaks(body);
  expect(JSON.stringify(body)).not.toContain(storageUrl);
});
