/**
 * Latency and upstream cost of client operations through the web gateway, on the whole
 * local stack (sandbox providers included) in this process.
 *
 *   npm run bench -- [--requests 200] [--concurrency 1] [--operation Dashboard|UserList|Home]
 *                    [--storage healthy|slow|down] [--latency 0]
 *
 * Prints, per operation: upstream attempts per request by provider (counted by the sandbox
 * over the measured requests) and p50/p95/p99 latency over N requests, sent by
 * `concurrency` clients in parallel after a warm-up of 20 on the healthy stack.
 * --storage slow makes every storage call answer after 5 s (past the source's timeout);
 * --storage down answers every storage call 503. Either fault starts with the measured
 * requests, so they include the ones that meet it before storage's circuit opens.
 */
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import { HomeDocument } from '../clients/mobile/__generated__/operations.js';
import { DashboardDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import type { FaultRule } from '../sandbox/faults.js';
import { startStack } from '../scripts/stack.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '1' },
    latency: { type: 'string', default: '0' },
    operation: { type: 'string', multiple: true },
    storage: { type: 'string', default: 'healthy' },
  },
});
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 1 || requests > 10_000) {
  process.stderr.write('--requests must be a whole number from 1 to 10000\n');
  process.exit(2);
}
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
  process.stderr.write('--concurrency must be a whole number from 1 to 64\n');
  process.exit(2);
}
const latencyMs = Number(values.latency);
if (!Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > 1000) {
  process.stderr.write('--latency must be a whole number of ms from 0 to 1000\n');
  process.exit(2);
}

/** Set while storage is broken on purpose: its field errors are then expected. */
let storageBroken = false;
const STORAGE_FAULTS: Record<string, FaultRule[]> = { healthy: [], slow: [{ latencyMs: 5000 }], down: [{ status: 503 }] };
const storageMode = values.storage as keyof typeof STORAGE_FAULTS;
if (!(storageMode in STORAGE_FAULTS)) {
  process.stderr.write('--storage must be healthy, slow or down\n');
  process.exit(2);
}

const startedAt = performance.now();
const stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
const startupMs = performance.now() - startedAt;
const busy = stack.sandbox.seed.users.find((u) => stack.sandbox.seed.files.filter((f) => f.key.startsWith(`users/${u.id}/`)).length >= 10)!;

const operations = {
  Dashboard: { gateway: 'web', query: print(DashboardDocument), variables: { userId: busy.id } },
  UserList: { gateway: 'web', query: print(UserListDocument), variables: { first: 50 } },
  Home: { gateway: 'mobile', query: print(HomeDocument), variables: { userId: busy.id } },
} as const;
type Name = keyof typeof operations;
const chosen = (values.operation?.length ? values.operation : Object.keys(operations)) as Name[];

async function send(name: Name): Promise<number> {
  const op = operations[name];
  const t0 = performance.now();
  const response = await fetch(`${stack.gateways[op.gateway]!.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: op.query, variables: op.variables }),
  });
  const body = (await response.json()) as { errors?: unknown[] };
  if (body.errors && !storageBroken) throw new Error(`${name} failed: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return performance.now() - t0;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** Storage's rules of the chosen mode, then the added latency on every provider. */
function setFaults(storageRules: readonly FaultRule[]) {
  const latency: FaultRule[] = latencyMs ? [{ latencyMs }] : [];
  for (const provider of ['accounts', 'email', 'storage', 'analytics', 'postmark'] as const) {
    stack.sandbox.faults(provider, provider === 'storage' ? [...storageRules, ...latency] : latency);
  }
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

try {
  console.log(`storage: ${storageMode}; +${latencyMs} ms per upstream call; ${requests} requests per operation, ${concurrency} at a time`);
  console.log(`stack started in ${startupMs.toFixed(0)} ms; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  for (const name of chosen) {
    if (!(name in operations)) throw new Error(`unknown operation ${name}; choose from ${Object.keys(operations).join(', ')}`);
    // Warm up on a healthy stack, then break storage: the measured requests include the
    // ones that find the fault before the circuit opens.
    setFaults([]);
    storageBroken = false;
    await load(name, 20);
    setFaults(STORAGE_FAULTS[storageMode]!);
    storageBroken = storageMode !== 'healthy';
    stack.sandbox.resetCalls();
    const times = (await load(name, requests)).sort((a, b) => a - b);
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
  }
  console.log(`rss after load ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await stack.close();
}
