import { readdirSync, readFileSync } from 'node:fs';
import { parse, type OperationDefinitionNode } from 'graphql';
import { z } from 'zod';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { clientByName, persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import type { SeedData } from '../sandbox/seed.js';
import { PROVIDERS } from '../subgraphs/registry.js';
import type { RunningService } from '../kit/process/service.js';
import { startStack, type Stack } from './stack.js';

/**
 * Upstream-call budgets: every client operation declares, in its .graphql file, the most
 * upstream calls per source it may cost (`# budget: storage.s3=6 ...`; a source it does not
 * name gets 0). Measuring runs it on a fresh stack (cold caches) against the sandbox, which
 * counts the calls it receives.
 */
export interface ClientOperation {
  client: string;
  name: string;
  file: string;
  document: string;
  budget: Record<string, number>;
  /**
   * A query's upstream calls when asked again at once, nothing having changed (`# warm budget:`,
   * usually `none`): what the caches must save. Mutations and subscriptions have none.
   */
  warmBudget?: Record<string, number>;
  /** From its `# variables:` line: what to run it with when measuring (exampleVariables). */
  variables: Record<string, unknown>;
}

/** `# budget: a.b=1 c.d=2` or `# budget: none` (or the `# warm budget:` line). */
function readBudget(text: string, file: string, label = 'budget'): Record<string, number> {
  const line = new RegExp(`^# ${label}:(.*)$`, 'm').exec(text)?.[1]?.trim();
  if (line === undefined) throw new Error(`${file} declares no "# ${label}:" line`);
  if (line === 'none') return {};
  return Object.fromEntries(
    line.split(/\s+/).map((entry) => {
      const match = /^([a-z]+\.[a-z0-9]+)=(\d+)$/.exec(entry);
      if (!match) throw new Error(`${file}: budget entry "${entry}" is not source=count`);
      return [match[1]!, Number(match[2])];
    }),
  );
}

/** `# variables: {"userId": "$busyUser"}`: JSON, an empty object when the line is absent. */
function readVariables(text: string, file: string): Record<string, unknown> {
  const line = /^# variables:(.*)$/m.exec(text)?.[1]?.trim();
  if (line === undefined) return {};
  try {
    const parsed = z.record(z.string(), z.unknown()).safeParse(JSON.parse(line));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  throw new Error(`${file}: "# variables:" must be followed by a JSON object`);
}

/** Every operation in `root`/clients/<client>/*.graphql. */
export function readOperations(root: URL): ClientOperation[] {
  const clients = new URL('clients/', root);
  return readdirSync(clients, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((dir) =>
      readdirSync(new URL(`${dir.name}/`, clients))
        .filter((f) => f.endsWith('.graphql'))
        .sort()
        .map((f) => {
          const file = `clients/${dir.name}/${f}`;
          const document = readFileSync(new URL(file, root), 'utf8');
          const operation = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
          return {
            client: dir.name,
            name: operation?.name?.value ?? f,
            file,
            document,
            budget: readBudget(document, file),
            ...(isQuery(document) ? { warmBudget: readBudget(document, file, 'warm budget') } : {}),
            variables: readVariables(document, file),
          };
        }),
    );
}

/** The source that calls a sandbox provider, as the registry declares it. */
const sourceOf = (provider: string): string => PROVIDERS.find((p) => p.name === provider)?.source ?? provider;

/**
 * The variables that make an operation cost the most it can (the worst case its budget
 * covers), from its `# variables: {...}` line; `"$busyUser"` stands for a seeded user with
 * files, messages and events enough to fill every list, `"$daysAgo:N"` for the date N days ago.
 */
export function exampleVariables(operation: ClientOperation, seed: SeedData): Record<string, unknown> {
  const filesOf = (id: string) => seed.files.filter((f) => f.key.startsWith(`users/${id}/`)).length;
  const busy = seed.users.find((u) => filesOf(u.id) >= 10 && seed.messages.some((m) => m.to_email === u.email))!;
  const placeholders: Record<string, string> = { $busyUser: busy.id };
  return JSON.parse(JSON.stringify(operation.variables), (_key, value: unknown) => {
    if (typeof value !== 'string') return value;
    // `$daysAgo:29`: a date (YYYY-MM-DD) that many days before today, inside the seed's last 30 days.
    const daysAgo = /^\$daysAgo:(\d+)$/.exec(value)?.[1];
    if (daysAgo !== undefined) return new Date(Date.now() - Number(daysAgo) * 86_400_000).toISOString().slice(0, 10);
    return placeholders[value] ?? value;
  }) as Record<string, unknown>;
}

export interface BudgetResult {
  operation: ClientOperation;
  /** Upstream calls per source the sandbox saw. */
  actual: Record<string, number>;
  /** For a query, those of asking it again at once. */
  warm?: Record<string, number>;
  /** Errors the operation answered with, which make its count meaningless. */
  errors: string[];
  /** One line per source whose count differs from the budget: over it, or under (loose). */
  mismatches: string[];
  /** What the operation answered. */
  data: unknown;
}

/**
 * Runs one operation on a fresh stack, as its admin (so access rules do not cut it short),
 * and compares its upstream calls with its budget. The budget is the minimum the operation
 * can cost at these worst-case variables: over it fails, and so does under it (a budget
 * that is loose must be lowered).
 */
export async function measureBudget(operation: ClientOperation): Promise<BudgetResult> {
  const stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  try {
    const url = `${stack.gateways[operation.client]!.url}/graphql`;
    const variables = exampleVariables(operation, stack.sandbox.seed);
    stack.sandbox.resetCalls();
    // A safelisted client sends the operation's id, as its apps do.
    const client = clientByName(operation.client)!;
    const request = client.safelist
      ? { extensions: persistedQueryExtension(persistedManifestFile(client), operation.name) }
      : { query: operation.document };
    const init = {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await mintToken(AuthConfig.parse({}), 'usr_budget', ['admin'])}`,
      },
      body: JSON.stringify({ ...request, variables }),
    };
    const body: { data?: unknown; errors?: Array<{ message: string }> } = isSubscription(operation)
      ? await firstPushed(stack, url, init, operation, variables)
      : await (await fetch(url, init)).json();
    const actual = await callsBySource(stack);
    const mismatches = compare(operation.name, 'budget', operation.budget, actual);
    const errors = (body.errors ?? []).map((e) => e.message);
    let warm: Record<string, number> | undefined;
    if (operation.warmBudget) {
      // Asked again at once, nothing changed: what the caches answer costs nothing upstream.
      const hedged = await hedgesLaunched(Object.values(stack.subgraphs));
      stack.sandbox.resetCalls();
      const again = (await (await fetch(url, init)).json()) as { errors?: Array<{ message: string }> };
      errors.push(...(again.errors ?? []).map((e) => `asked again: ${e.message}`));
      warm = await callsBySource(stack, hedged);
      mismatches.push(...compare(operation.name, 'warm budget', operation.warmBudget, warm));
    }
    return { operation, actual, ...(warm ? { warm } : {}), errors, mismatches, data: body.data };
  } finally {
    await stack.close();
  }
}

/** Upstream calls per source since the calls were last reset, once the work an answer started has settled. */
async function callsBySource(stack: Stack, hedgedBefore: Record<string, number> = {}): Promise<Record<string, number>> {
  await settled(() => JSON.stringify(stack.sandbox.calls()));
  const actual: Record<string, number> = {};
  for (const [provider, operations] of Object.entries(stack.sandbox.calls())) {
    for (const n of Object.values(operations)) actual[sourceOf(provider)] = (actual[sourceOf(provider)] ?? 0) + n;
  }
  // A hedged read's second attempt is not a call the operation needs (at most its source's share more).
  const hedged = await hedgesLaunched(Object.values(stack.subgraphs));
  for (const [source, n] of Object.entries(hedged)) actual[source] = (actual[source] ?? 0) - (n - (hedgedBefore[source] ?? 0));
  return actual;
}

/** One line per source whose count differs from the budget: over it, or under (loose). */
function compare(name: string, label: string, budget: Record<string, number>, actual: Record<string, number>): string[] {
  return [...new Set([...Object.keys(actual), ...Object.keys(budget)])].flatMap((source) => {
    const allowed = budget[source] ?? 0;
    const calls = actual[source] ?? 0;
    if (calls === allowed) return [];
    return [
      `${name}: ${source} ${label} ${allowed}, actual ${calls}${calls > allowed ? ' (over budget)' : ' (budget is loose: lower it)'}`,
    ];
  });
}

const isSubscription = (operation: ClientOperation) => /^\s*subscription\b/m.test(operation.document.replace(/^#.*$/gm, ''));
const isQuery = (document: string) => /^\s*query\b/m.test(document.replace(/^#.*$/gm, ''));

/**
 * What makes each subscription field push once, without an upstream call of its own: the
 * provider's event as the sandbox tells it (an object stored, as an upload lands).
 */
const PUSHES: Record<string, (stack: Stack, variables: Record<string, unknown>) => void> = {
  storedObjectCreated: (stack, variables) =>
    stack.sandbox.providers.s3.store({
      key: `users/${String(variables.userId ?? 'usr_budget')}/budget.png`,
      body: Buffer.from('budget'),
      contentType: 'image/png',
    }),
};

/**
 * A subscription's budget is what one pushed event costs: the stream is opened (GraphQL over
 * SSE), once the subgraph follows its event stream the event is made to happen, and what the
 * first push answers is returned with the calls counted from the moment of the event.
 */
async function firstPushed(stack: Stack, url: string, init: RequestInit, operation: ClientOperation, variables: Record<string, unknown>) {
  const field = /subscription\b[^{]*\{\s*(\w+)/.exec(operation.document.replace(/^#.*$/gm, ''))?.[1] ?? '';
  const push = PUSHES[field];
  if (!push) throw new Error(`${operation.file}: no way to make ${field} push is known to scripts/budgets.ts (PUSHES)`);
  const controller = new AbortController();
  const response = await fetch(url, { ...init, headers: { ...init.headers, accept: 'text/event-stream' }, signal: controller.signal });
  if (!response.body || !response.headers.get('content-type')?.includes('text/event-stream')) return response.json();
  try {
    await followed(Object.values(stack.subgraphs));
    stack.sandbox.resetCalls();
    push(stack, variables);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      const data = /^event: next\r?\ndata: (.*)$/m.exec(buffer)?.[1];
      if (data) return JSON.parse(data) as unknown;
    }
    return { errors: [{ message: 'the stream ended before its first event' }] };
  } finally {
    controller.abort();
  }
}

/** Until some subgraph follows an event stream: a subscription is open end to end. */
async function followed(subgraphs: RunningService[], timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const { metricsUrl } of subgraphs) {
      if (!metricsUrl) continue;
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      if (/^patchbay_event_stream_followers\{[^}]*\} [1-9]/m.test(text)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no subgraph followed the subscription in time');
}

/** Second attempts of hedged reads, per source, as the subgraphs' metrics count them. */
async function hedgesLaunched(subgraphs: RunningService[]): Promise<Record<string, number>> {
  const launched: Record<string, number> = {};
  for (const { metricsUrl } of subgraphs) {
    if (!metricsUrl) continue;
    const text = await (await fetch(`${metricsUrl}/metrics`)).text();
    for (const [, source, n] of text.matchAll(
      /^patchbay_upstream_hedges_total\{[^}]*source="([^"]+)"[^}]*outcome="launched"[^}]*\} (\d+)/gm,
    )) {
      launched[source!] = (launched[source!] ?? 0) + Number(n);
    }
  }
  return launched;
}

/** Waits until `state` stops changing for a moment: work an operation started after answering (the outbox delivering). */
async function settled(state: () => string, quietMs = 300, maxMs = 5000) {
  const until = Date.now() + maxMs;
  let last = state();
  let quietSince = Date.now();
  while (Date.now() < until && Date.now() - quietSince < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = state();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}
