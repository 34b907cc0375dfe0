/**
 * Upstream-call budgets (scripts/budgets.ts): every client operation runs on a fresh stack
 * against the sandbox, and any source whose call count differs from the budget declared in
 * the operation's file fails, printing operation, source, budget and actual.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '../scripts/compose.js';
import { measureBudget, readOperations } from '../scripts/budgets.js';

const OPERATIONS = readOperations(REPO_ROOT);

describe('upstream-call budgets of the client operations', () => {
  test('every client operation file is read, with its budget', () => {
    const files = readdirSync(new URL('clients/', REPO_ROOT), { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.graphql') && !file.includes('__generated__'),
    );
    expect(OPERATIONS.map((o) => o.file).sort()).toEqual(files.map((file) => `clients/${file.replaceAll('\\', '/')}`).sort());
    for (const operation of OPERATIONS) expect(operation.budget).toEqual(expect.any(Object));
  });

  test.each(OPERATIONS.map((o) => [`${o.client}/${o.name}`, o] as const))('%s costs exactly its budget', async (_label, operation) => {
    const result = await measureBudget(operation);
    expect(result.errors).toEqual([]);
    expect(result.mismatches).toEqual([]);
  });
});
