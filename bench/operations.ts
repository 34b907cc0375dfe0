/**
 * Latency and upstream cost of client operations through the web gateway, on the whole
 * local stack (sandbox providers included) in this process.
 *
 *   npm run bench -- [--requests 200] [--operation Dashboard|UserList|Home] [--storage healthy|slow|down]
 *
 * Prints, per operation: upstream calls per source for one request (counted by the
 * sandbox), and p50/p95/p99 latency over N sequential requests after a warm-up.
 * --storage slow adds 5 s to every storage call (the timeout bound); --storage down answers
 * every storage call 503, so after the warm-up storage's circuit is open.
 */
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import { HomeDocument } from '../clients/mobile/__generated__/operations.js';
import { DashboardDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { startStack } from '../scripts/stack.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    operation: { type: 'string', multiple: true },
    storage: { type: 'string', default: 'healthy' },
  },
});
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 1 || requests > 10_000) {
  process.stderr.write('--requests must be a whole number from 1 to 10000\n');
  process.exit(2);
}

const STORAGE_FAULTS = { healthy: [], slow: [{ latencyMs: 5000 }], down: [{ status: 503 }] } as const;
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
  if (body.errors && storageMode === 'healthy') throw new Error(`${name} failed: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return performance.now() - t0;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

try {
  stack.sandbox.faults('storage', [...STORAGE_FAULTS[storageMode]]);
  console.log(`storage: ${storageMode}`);
  console.log(`stack started in ${startupMs.toFixed(0)} ms; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  for (const name of chosen) {
    if (!(name in operations)) throw new Error(`unknown operation ${name}; choose from ${Object.keys(operations).join(', ')}`);
    for (let i = 0; i < 20; i++) await send(name);
    stack.sandbox.resetCalls();
    await send(name);
    const calls = Object.fromEntries(
      Object.entries(stack.sandbox.calls()).map(([source, ops]) => [source, Object.values(ops).reduce((a, b) => a + b, 0)]),
    );
    const times: number[] = [];
    for (let i = 0; i < requests; i++) times.push(await send(name));
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(10)} upstream calls/request ${JSON.stringify(calls)}  ` +
        `p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms  p99 ${percentile(times, 99).toFixed(1)} ms  (n=${requests})`,
    );
  }
  console.log(`rss after load ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await stack.close();
}
