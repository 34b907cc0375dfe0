/**
 * Latency and upstream cost of client operations through the web gateway, on the whole
 * local stack (sandbox providers included) in this process.
 *
 *   npm run bench -- [--requests 200] [--concurrency 1] [--operation Dashboard|UserList|Home|HomeOnWeb]
 *                    [--storage healthy|slow|down] [--latency 0] [--distinct] [--users 1200] [--warmup 100]
 *
 * Prints, per operation: upstream attempts per request by provider (counted by the sandbox
 * over the measured requests), cache lookups per request by result (from the subgraphs'
 * /metrics) and p50/p95/p99 latency over N requests, sent by
 * `concurrency` clients in parallel, after a warm-up (`--warmup`, 100 by default) of each
 * chosen operation on the healthy stack.
 * --storage slow makes every storage call answer after 5 s (past the source's timeout);
 * --storage down answers every storage call 503. Either fault starts with the measured
 * requests, so they include the ones that meet it before storage's circuit opens.
 */
import { print } from 'graphql';
import { HomeDocument } from '../clients/mobile/__generated__/operations.js';
import { DashboardDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { mobile } from '../gateway/clients/mobile.js';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { parseCommandLine, runCommand, usageError, wholeNumber } from '../kit/process/cli.js';
import type { FaultRule } from '../sandbox/faults.js';
import { PROVIDERS } from '../subgraphs/registry.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { percentile } from './harness.js';

const usage =
  'Usage: npm run bench -- [--requests 200] [--concurrency 1] [--operation Dashboard|UserList|Home|HomeOnWeb] [--storage healthy|slow|down] [--latency 0] [--distinct] [--users 1200] [--warmup 100]';
const { values } = parseCommandLine(
  {
    options: {
      requests: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '1' },
      latency: { type: 'string', default: '0' },
      distinct: { type: 'boolean', default: false },
      users: { type: 'string', default: '1200' },
      operation: { type: 'string', multiple: true },
      storage: { type: 'string', default: 'healthy' },
    },
  },
  usage,
);
const requests = wholeNumber('requests', values.requests, 1, 10_000);
const warmup = wholeNumber('warmup', values.warmup, 0, 10_000);
const concurrency = wholeNumber('concurrency', values.concurrency, 1, 64);
const latencyMs = wholeNumber('latency', values.latency, 0, 1000);
const seedUsers = wholeNumber('users', values.users, 100, 20_000);

/** Set while storage is broken on purpose: its field errors are then expected. */
let storageBroken = false;
const STORAGE_FAULTS: Record<string, FaultRule[]> = { healthy: [], slow: [{ latencyMs: 5000 }], down: [{ status: 503 }] };
const storageMode = values.storage as keyof typeof STORAGE_FAULTS;
if (!(storageMode in STORAGE_FAULTS)) usageError('--storage must be healthy, slow or down');

let stack: Stack;
/** Users with 10 or more files: each costs Dashboard its full budget (5 HEADs). */
let busyUsers: Array<{ id: string }>;
/**
 * Requests sent so far. With --distinct, the warm-up counts down from the last user or page
 * and the measured requests up from the first, so the warm-up leaves nothing in the caches
 * that a measured request could use.
 */
let sent = 0;
let warmingUp = false;
const nth = (count: number) => (warmingUp ? count - 1 - (sent++ % count) : sent++ % count);
/** The user of the next request: the same one, or with --distinct a different one each time. */
const nextUser = () => busyUsers[values.distinct ? nth(busyUsers.length) : 0]!.id;

/** The next UserList page: the first one, or with --distinct each of the 24 pages in turn. */
const nextPageCursor = () => {
  const users = stack.sandbox.seed.users;
  const page = values.distinct ? nth(Math.floor(users.length / 50)) : 0;
  // The account service's cursor is the last id of the previous page.
  return page === 0 ? undefined : Buffer.from(users[page * 50 - 1]!.id).toString('base64url');
};

/** What a request sends: the query text, or (mobile) the persisted operation's id alone. */
const text = (query: string) => ({ query });
const byId = (name: string) => ({ extensions: persistedQueryExtension(persistedManifestFile(mobile), name) });

const operations = {
  Dashboard: { gateway: 'web', request: text(print(DashboardDocument)), variables: () => ({ userId: nextUser() }) },
  UserList: { gateway: 'web', request: text(print(UserListDocument)), variables: () => ({ first: 50, after: nextPageCursor() }) },
  Home: { gateway: 'mobile', request: byId('Home'), variables: () => ({ userId: nextUser() }) },
  // The same operation as text to the web gateway: what persisting saves.
  HomeOnWeb: { gateway: 'web', request: text(print(HomeDocument)), variables: () => ({ userId: nextUser() }) },
} as const;
type Name = keyof typeof operations;
const chosen = (values.operation?.length ? values.operation : Object.keys(operations)) as Name[];
const unknown = chosen.filter((name) => !(name in operations));
if (unknown.length) usageError(`unknown operation ${unknown.join(', ')}; choose from ${Object.keys(operations).join(', ')}`);
let authorization: string;

async function send(name: Name): Promise<number> {
  const op = operations[name];
  const t0 = performance.now();
  const response = await fetch(`${stack.gateways[op.gateway]!.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ ...op.request, variables: op.variables() }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (body.errors && !storageBroken) throw new Error(`${name} failed: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return performance.now() - t0;
}

/** Storage's rules of the chosen mode, then the added latency on every provider. */
function setFaults(storageRules: readonly FaultRule[]) {
  const latency: FaultRule[] = latencyMs ? [{ latencyMs }] : [];
  for (const { name } of PROVIDERS) stack.sandbox.faults(name, name === 's3' ? [...storageRules, ...latency] : latency);
}

/** Cache lookups of every subgraph's sources so far, by result (hit, revalidated, miss). */
async function cacheLookups(): Promise<Record<string, number>> {
  const totals: Record<string, number> = { hit: 0, revalidated: 0, miss: 0 };
  for (const subgraph of Object.values(stack.subgraphs)) {
    const text = await (await fetch(`${subgraph.metricsUrl}/metrics`)).text();
    for (const [, result, value] of text.matchAll(/^patchbay_upstream_cache_lookups_total\{[^}]*result="(\w+)"[^}]*\} (\d+)/gm)) {
      totals[result!] = (totals[result!] ?? 0) + Number(value);
    }
  }
  return totals;
}

/** Sends `count` requests from `concurrency` clients; returns each request's latency. */
async function load(name: Name, count: number): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < count) {
      next++;
      times.push(await send(name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, client));
  return times;
}

async function measure(startupMs: number) {
  console.log(`storage: ${storageMode}; +${latencyMs} ms per upstream call; ${requests} requests per operation, ${concurrency} at a time`);
  console.log(`stack started in ${startupMs.toFixed(0)} ms; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  // Every operation warms up before any is measured, so the first one measured does not
  // pay for warming the whole stack.
  warmingUp = true;
  for (const name of chosen) await load(name, warmup);
  warmingUp = false;
  for (const name of chosen) {
    // Measured on a healthy stack, or with storage broken from the first measured request,
    // so the figures include the requests that meet the fault before the circuit opens.
    setFaults([]);
    storageBroken = false;
    sent = 0;
    setFaults(STORAGE_FAULTS[storageMode]!);
    storageBroken = storageMode !== 'healthy';
    stack.sandbox.resetCalls();
    const lookupsBefore = await cacheLookups();
    const times = (await load(name, requests)).sort((a, b) => a - b);
    const lookupsAfter = await cacheLookups();
    const lookups = Object.fromEntries(Object.keys(lookupsAfter).map((k) => [k, (lookupsAfter[k]! - (lookupsBefore[k] ?? 0)) / requests]));
    const lookupCount = Object.values(lookups).reduce((a, b) => a + b, 0);
    const perRequest = Object.fromEntries(
      Object.entries(stack.sandbox.calls()).map(([provider, ops]) => [
        provider,
        Number((Object.values(ops).reduce((a, b) => a + b, 0) / requests).toFixed(2)),
      ]),
    );
    console.log(
      `${name.padEnd(10)} upstream attempts/request ${JSON.stringify(perRequest)}  ` +
        `p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms  p99 ${percentile(times, 99).toFixed(1)} ms`,
    );
    console.log(
      `${''.padEnd(10)} cache lookups/request ${JSON.stringify(lookups)}` +
        (lookupCount ? `  hit ratio ${((100 * (lookups.hit ?? 0)) / lookupCount).toFixed(0)}% (revalidations count as calls)` : ''),
    );
  }
  console.log(`rss after load ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}

await runCommand('bench', async () => {
  authorization = `Bearer ${await mintToken(AuthConfig.parse({}), 'usr_bench', ['admin'], 86_400)}`;
  const startedAt = performance.now();
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent', SANDBOX_USERS: String(seedUsers) } });
  const startupMs = performance.now() - startedAt;
  busyUsers = stack.sandbox.seed.users.filter(
    (u) => stack.sandbox.seed.files.filter((f) => f.key.startsWith(`users/${u.id}/`)).length >= 10,
  );
  try {
    await measure(startupMs);
  } finally {
    await stack.close();
  }
});
