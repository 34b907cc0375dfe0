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

/** Where an answer shows nothing: no data, an empty list, or numbers that are all 0 (a field may be null: a user seen by no event). */
function emptyPlaces(data: unknown): string[] {
  const empty: string[] = [];
  const numbers: number[] = [];
  const visit = (value: unknown, path: string) => {
    if (value === null || value === undefined) {
      if (!path) empty.push('no data');
    } else if (Array.isArray(value)) {
      if (!value.length) empty.push(`${path} is empty`);
      value.forEach((item, i) => visit(item, `${path}.${i}`));
    } else if (typeof value === 'object') for (const [key, item] of Object.entries(value)) visit(item, path ? `${path}.${key}` : key);
    else if (typeof value === 'number') numbers.push(value);
  };
  visit(data, '');
  if (numbers.length && numbers.every((n) => n === 0)) empty.push('every number is 0');
  return empty;
}

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
    // Its sample variables show something: every list in the answer has items, and where it
    // answers numbers, not all of them are 0 (a sample over days with no events would be).
    expect({ operation: operation.name, empty: emptyPlaces(result.data) }).toEqual({ operation: operation.name, empty: [] });
  });
});
