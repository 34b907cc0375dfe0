/**
 * Upstream-call budgets (scripts/budgets.ts): every client operation runs on a fresh stack
 * against the sandbox, and any source whose call count differs from the budget declared in
 * the operation's file fails, printing operation, source, budget and actual.
 */
import { describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '../scripts/compose.js';
import { measureBudget, readOperations } from '../scripts/budgets.js';

const OPERATIONS = readOperations(REPO_ROOT);

describe('upstream-call budgets of the client operations', () => {
  test('every client operation declares one', () => {
    expect(OPERATIONS.map((o) => o.name).sort()).toEqual([
      'CreateUploadUrl',
      'Dashboard',
      'EventCounts',
      'Home',
      'SendEmail',
      'Track',
      'UserList',
    ]);
  });

  test.each(OPERATIONS.map((o) => [`${o.client}/${o.name}`, o] as const))('%s costs exactly its budget', async (_label, operation) => {
    const result = await measureBudget(operation);
    expect(result.errors).toEqual([]);
    expect(result.mismatches).toEqual([]);
  });
});
