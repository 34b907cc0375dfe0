/**
 * Upstream-call budgets: every client operation declares, in its .graphql file, the most
 * upstream calls per source it may cost (`# budget: storage.s3=6 ...`; a source it does not
 * name gets 0). Each operation runs on a fresh stack (cold caches) against the sandbox,
 * which counts the calls it receives, and fails when any source is over its budget.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from '@jest/globals';
import { parse, type OperationDefinitionNode } from 'graphql';
import { clientByName } from '../gateway/clients/index.js';
import type { SeedData } from '../sandbox/seed.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { graphql, persisted } from './helpers.js';

const CLIENTS = new URL('../clients/', import.meta.url);

interface ClientOperation {
  client: string;
  name: string;
  file: string;
  document: string;
  budget: Record<string, number>;
}

/** `# budget: a.b=1 c.d=2` or `# budget: none`. */
function readBudget(text: string, file: string): Record<string, number> {
  const line = /^# budget:(.*)$/m.exec(text)?.[1]?.trim();
  if (line === undefined) throw new Error(`${file} declares no "# budget:" line`);
  if (line === 'none') return {};
  return Object.fromEntries(
    line.split(/\s+/).map((entry) => {
      const match = /^([a-z]+\.[a-z0-9]+)=(\d+)$/.exec(entry);
      if (!match) throw new Error(`${file}: budget entry "${entry}" is not source=count`);
      return [match[1]!, Number(match[2])];
    }),
  );
}

const OPERATIONS: ClientOperation[] = readdirSync(CLIENTS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((dir) =>
    readdirSync(new URL(`${dir.name}/`, CLIENTS))
      .filter((f) => f.endsWith('.graphql'))
      .map((f) => {
        const file = `clients/${dir.name}/${f}`;
        const document = readFileSync(new URL(`${dir.name}/${f}`, CLIENTS), 'utf8');
        const operation = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
        return { client: dir.name, name: operation!.name!.value, file, document, budget: readBudget(document, file) };
      }),
  );

/** The sandbox provider and operation of a call, as the source that makes it. */
function sourceOf(provider: string, operation: string): string {
  if (provider === 'analytics') return operation.startsWith('segment') ? 'analytics.segment' : 'analytics.mixpanel';
  return { accounts: 'accounts.api', email: 'email.sendgrid', postmark: 'email.postmark', storage: 'storage.s3' }[provider] ?? provider;
}

/** Variables that make each operation cost the most it can: the worst case its budget covers. */
function exampleVariables(name: string, seed: SeedData): Record<string, unknown> {
  const filesOf = (id: string) => seed.files.filter((f) => f.key.startsWith(`users/${id}/`)).length;
  const busy = seed.users.find((u) => filesOf(u.id) >= 10 && seed.messages.some((m) => m.to_email === u.email))!;
  const examples: Record<string, Record<string, unknown>> = {
    Dashboard: { userId: busy.id },
    UserList: { first: 50 },
    EventCounts: { event: 'Search', from: '2026-01-01', to: '2026-01-31' },
    SendEmail: { input: { to: 'budget@example.com', subject: 'Budget', text: 'Hello' } },
    Home: { userId: busy.id },
    CreateUploadUrl: { input: { userId: busy.id, fileName: 'photo.png', contentType: 'image/png' } },
    Track: { events: [{ id: 'budget-1', userId: busy.id, name: 'Budget' }] },
  };
  const variables = examples[name];
  if (!variables) throw new Error(`no example variables for ${name}: add them to test/budgets.test.ts`);
  return variables;
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** Calls per source the sandbox saw since its last reset. */
function callsBySource(s: Stack): Record<string, number> {
  const bySource: Record<string, number> = {};
  for (const [provider, operations] of Object.entries(s.sandbox.calls())) {
    for (const [operation, n] of Object.entries(operations)) {
      const source = sourceOf(provider, operation);
      bySource[source] = (bySource[source] ?? 0) + n;
    }
  }
  return bySource;
}

describe('upstream-call budgets of the client operations', () => {
  test('every client operation declares one', () => {
    expect(OPERATIONS.map((o) => o.name).sort()).toEqual(['CreateUploadUrl', 'Dashboard', 'EventCounts', 'Home', 'SendEmail', 'Track', 'UserList']);
  });

  test.each(OPERATIONS.map((o) => [`${o.client}/${o.name}`, o] as const))('%s stays within its budget', async (_label, operation) => {
    stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
    const gateway = stack.gateways[operation.client]!;
    const variables = exampleVariables(operation.name, stack.sandbox.seed);
    stack.sandbox.resetCalls();
    // A safelisted client sends the operation's id, as its apps do.
    const url = `${gateway.url}/graphql`;
    const { body } = clientByName(operation.client)!.safelist
      ? await persisted(url, parse(operation.document), variables)
      : await graphql(url, operation.document, variables);
    expect(body.errors).toBeUndefined();
    const actual = callsBySource(stack);

    // Over budget fails; under it too, at these worst-case variables: a budget is the
    // minimum the operation can cost, so a cheaper operation gets its budget lowered.
    const sources = new Set([...Object.keys(actual), ...Object.keys(operation.budget)]);
    const mismatches = [...sources].flatMap((source) => {
      const budget = operation.budget[source] ?? 0;
      const calls = actual[source] ?? 0;
      if (calls === budget) return [];
      return [`${operation.name}: ${source} budget ${budget}, actual ${calls}${calls > budget ? ' (over budget)' : ' (budget is loose: lower it)'}`];
    });
    expect(mismatches).toEqual([]);
  });
});
