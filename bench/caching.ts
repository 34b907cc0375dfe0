/**
 * What the entity caches save, measured against the physical limit: the whole local stack in this
 * process, each provider answering after a realistic delay (the sandbox's latency injection:
 * accounts 20 ms, S3 40 ms, SendGrid 60 ms, Mixpanel 80 ms per call, times --latency-scale).
 *
 *   npm run bench:cache -- [--requests 20] [--outage-seconds 30] [--latency-scale 1] [--operation Dashboard|Home|UserList] [--compiled]
 *
 * --compiled runs each subgraph and gateway as its own compiled process (`npm run build` first),
 * as deployments do, with the sandbox and the client in this one.
 *
 * One request at a time, per operation:
 *   cold         a user (or page) never asked for, each request
 *   warm         the same one again, nothing changed
 *   invalidated  the same one just after a file landed in the user's folder and the user tracked
 *                an event (the event streams dropped what those changed, in every cache)
 * with p50/p99 latency, upstream calls per request, the critical path (the time at least one
 * upstream call was in flight, as the sandbox saw it: the longest chain of sequential calls, the
 * sandbox's own work included) and patchbay's overhead over it (latency minus critical path).
 * Then the outage: every provider answers 503 for --outage-seconds while the Dashboard is asked,
 * one at a time, for users whose files and events just changed: p50/p99, and how many answers
 * lacked a field (an error) or carried stale marks.
 */
import { print } from 'graphql';
import { DashboardDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { mobile } from '../gateway/clients/mobile.js';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { parseCommandLine, runCommand, usageError, wholeNumber } from '../kit/process/cli.js';
import { PROVIDERS, SUBGRAPH_NAMES, sandboxPortVariable, subgraphPortVariable } from '../subgraphs/registry.js';
import type { ProviderName } from '../subgraphs/registry.js';
import { startStack } from '../scripts/stack.js';
import { bareEnv, runToEnd, startProgram, startProgramsTogether, type RunningProgram } from '../scripts/programs.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { subgraphUrlVariable } from '../gateway/settings.js';
import { envName } from '../kit/process/env-name.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './harness.js';

const usage =
  'Usage: npm run bench:cache -- [--requests 20] [--outage-seconds 30] [--latency-scale 1] [--operation Dashboard|Home|UserList] [--compiled]';
const { values } = parseCommandLine(
  {
    options: {
      requests: { type: 'string', default: '20' },
      'outage-seconds': { type: 'string', default: '30' },
      'latency-scale': { type: 'string', default: '1' },
      operation: { type: 'string', multiple: true },
      compiled: { type: 'boolean', default: false },
    },
  },
  usage,
);
const requests = wholeNumber('requests', values.requests, 2, 500);
const outageSeconds = wholeNumber('outage-seconds', values['outage-seconds'], 0, 600);
const latencyScale = Number(values['latency-scale']);
if (!(latencyScale >= 0 && latencyScale <= 10)) usageError('--latency-scale must be a number from 0 to 10');

/** Each provider's delay per call: realistic orders for an own service, object storage, and two third-party APIs. */
const LATENCY_MS: Partial<Record<ProviderName, number>> = { accounts: 20, s3: 40, sendgrid: 60, mixpanel: 80 };

/** What is measured: the sandbox (in this process), the gateways' URLs, and every subgraph's metrics. */
interface Target {
  sandbox: Sandbox;
  gateways: Record<'web' | 'mobile', string>;
  metricsUrls: string[];
  close(): Promise<unknown>;
}

/** The whole stack in this process, as `npm start` runs it. */
async function inProcess(): Promise<Target> {
  const stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  return {
    sandbox: stack.sandbox,
    gateways: { web: stack.gateways.web!.url, mobile: stack.gateways.mobile!.url },
    metricsUrls: Object.values(stack.subgraphs).map((s) => s.metricsUrl!),
    close: stack.close,
  };
}

/** Each subgraph and gateway its own compiled process; the sandbox here. */
async function compiled(): Promise<Target> {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 300_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  const sandbox = await startSandbox(Object.fromEntries(PROVIDERS.map((p) => [sandboxPortVariable(p.name), '0'])));
  const outbox = mkdtempSync(join(tmpdir(), 'patchbay-bench-outbox-'));
  const programs: RunningProgram[] = [];
  const close = async () => {
    await Promise.all(programs.map((program) => program.stop()));
    await sandbox.close();
    rmSync(outbox, { recursive: true, force: true });
  };
  try {
    const subgraphs = await startProgramsTogether(
      SUBGRAPH_NAMES.map((name) =>
        startProgram(
          ['node', 'dist/scripts/run-subgraph.js', name],
          bareEnv({ ...sandbox.env(), OUTBOX_DIR: outbox, [subgraphPortVariable(name)]: '0', [envName(name, 'METRICS_PORT')]: '0' }),
        ),
      ),
    );
    programs.push(...subgraphs);
    SUBGRAPH_NAMES.forEach((name, i) => sandbox.deliverWebhooksTo(name, subgraphs[i]!.url));
    const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [subgraphUrlVariable(name), `${subgraphs[i]!.url}/graphql`]));
    const clients = ['web', 'mobile'] as const;
    const gateways = await startProgramsTogether(
      clients.map((client) =>
        startProgram(
          ['node', 'dist/gateway/index.js', client],
          bareEnv({ ...subgraphUrls, [envName(client, 'GATEWAY_PORT')]: '0', [envName(client, 'METRICS_PORT')]: '0' }),
        ),
      ),
    );
    programs.push(...gateways);
    return {
      sandbox,
      gateways: { web: gateways[0]!.url, mobile: gateways[1]!.url },
      metricsUrls: subgraphs.map((s) => s.metricsUrl!),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

let stack: Target;
let authorization: string;

interface Answer {
  ms: number;
  calls: number;
  busyMs: number;
  errors: number;
  stale: number;
}

const byId = (name: string) => ({ extensions: persistedQueryExtension(persistedManifestFile(mobile), name) });
const operations = {
  Dashboard: { gateway: 'web', request: { query: print(DashboardDocument) }, variables: (user: string) => ({ userId: user }) },
  Home: { gateway: 'mobile', request: byId('Home'), variables: (user: string) => ({ userId: user }) },
  // Its "user" is a page: the cursor after which it starts (the first user of the page is the one changed).
  UserList: {
    gateway: 'web',
    request: { query: print(UserListDocument) },
    variables: (after: string) => ({ first: 50, after: after || undefined }),
  },
} as const;
type Name = keyof typeof operations;
const chosen = (values.operation?.length ? values.operation : Object.keys(operations)) as Name[];
const unknown = chosen.filter((name) => !(name in operations));
if (unknown.length) usageError(`unknown operation ${unknown.join(', ')}; choose from ${Object.keys(operations).join(', ')}`);

async function send(name: Name, subject: string): Promise<Answer> {
  const op = operations[name];
  stack.sandbox.resetCalls();
  const startedAt = performance.now();
  const response = await fetch(`${stack.gateways[op.gateway]}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ ...op.request, variables: op.variables(subject) }),
  });
  const body = (await response.json()) as { errors?: unknown[]; extensions?: { stale?: unknown[] } };
  const ms = performance.now() - startedAt;
  const calls = Object.values(stack.sandbox.calls()).reduce((sum, ops) => sum + Object.values(ops).reduce((a, b) => a + b, 0), 0);
  return {
    ms,
    calls,
    busyMs: stack.sandbox.upstreamBusyMs(),
    errors: body.errors?.length ?? 0,
    stale: body.extensions?.stale?.length ?? 0,
  };
}

/** Tags dropped so far by the caches of every subgraph (to know an event has reached them). */
async function invalidations(): Promise<number> {
  let total = 0;
  for (const url of stack.metricsUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const [, n] of text.matchAll(/^patchbay_entity_cache_invalidations_total\{[^}]*\} (\d+)/gm)) total += Number(n);
  }
  return total;
}

/** A file lands in the user's folder and the user tracks an event; returns once both reached the caches. */
async function change(userId: string) {
  const before = await invalidations();
  stack.sandbox.providers.s3.store({
    key: `users/${userId}/bench-${Date.now()}.txt`,
    body: Buffer.from('bench'),
    contentType: 'text/plain',
  });
  const tracked = await fetch(`${stack.gateways.web}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({
      query: 'mutation Track($events: [TrackEventInput!]!) { track(events: $events) { accepted } }',
      variables: { events: [{ userId, name: 'bench_changed' }] },
    }),
  });
  if (!tracked.ok) throw new Error(`track failed: ${tracked.status}`);
  const until = Date.now() + 10_000;
  // The upload and the tracked event: one tag each, in the storage and analytics caches.
  while ((await invalidations()) < before + 2) {
    if (Date.now() > until) throw new Error('the events did not reach the caches within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function report(label: string, answers: Answer[]) {
  const sorted = (pick: (a: Answer) => number) => answers.map(pick).sort((a, b) => a - b);
  const ms = sorted((a) => a.ms);
  const busy = sorted((a) => a.busyMs);
  const overhead = sorted((a) => a.ms - a.busyMs);
  const calls = answers.reduce((sum, a) => sum + a.calls, 0) / answers.length;
  const failed = answers.filter((a) => a.errors).length;
  console.log(
    `  ${label.padEnd(12)} p50 ${percentile(ms, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(ms, 99).toFixed(1).padStart(6)} ms  ` +
      `calls/request ${calls.toFixed(2).padStart(5)}  critical path p50 ${percentile(busy, 50).toFixed(1).padStart(6)} ms  ` +
      `overhead p50 ${percentile(overhead, 50).toFixed(1).padStart(5)} ms` +
      (failed ? `  answers with errors ${failed}` : ''),
  );
}

async function measure() {
  const { seed } = stack.sandbox;
  const busyUsers = seed.users.filter((u) => seed.files.filter((f) => f.key.startsWith(`users/${u.id}/`)).length >= 10).map((u) => u.id);
  const pages = Array.from({ length: Math.floor(seed.users.length / 50) }, (_, page) =>
    page === 0 ? '' : Buffer.from(seed.users[page * 50 - 1]!.id).toString('base64url'),
  );
  const latencies = Object.entries(LATENCY_MS)
    .map(([name, ms]) => `${name} ${Math.round(ms * latencyScale)} ms`)
    .join(', ');
  console.log(`provider latency per call: ${latencies}; ${requests} requests per phase, one at a time`);
  for (const { name } of PROVIDERS) {
    const ms = Math.round((LATENCY_MS[name] ?? 0) * latencyScale);
    stack.sandbox.faults(name, ms ? [{ latencyMs: ms }] : []);
  }
  let nextUser = 0;
  for (const name of chosen) {
    const subjects = name === 'UserList' ? pages : busyUsers;
    const firstUserOf = (subject: string) => (name === 'UserList' ? seed.users[subject ? pages.indexOf(subject) * 50 : 0]!.id : subject);
    // The engine and the sources warm up on other users first, so "cold" is cold caches, not a cold process.
    for (let i = 0; i < 5; i++) await send(name, subjects[subjects.length - 1 - i]!);
    const cold: Answer[] = [];
    const picked: string[] = [];
    for (let i = 0; i < Math.min(requests, subjects.length - 5); i++) {
      const subject = subjects[nextUser++ % (subjects.length - 5)]!;
      picked.push(subject);
      cold.push(await send(name, subject));
    }
    const warm: Answer[] = [];
    for (let i = 0; i < requests; i++) warm.push(await send(name, picked[0]!));
    const invalidated: Answer[] = [];
    for (let i = 0; i < requests; i++) {
      await change(firstUserOf(picked[0]!));
      invalidated.push(await send(name, picked[0]!));
    }
    console.log(name);
    report('cold', cold);
    report('warm', warm);
    report('invalidated', invalidated);
  }

  if (!outageSeconds) return;
  // Users whose Dashboard is cached, then changed: with the providers down, what changed is stale.
  const users = busyUsers.slice(0, 10);
  for (const user of users) {
    await send('Dashboard', user);
    await change(user);
  }
  for (const { name } of PROVIDERS) stack.sandbox.faults(name, [{ status: 503 }]);
  const during: Answer[] = [];
  const endsAt = performance.now() + outageSeconds * 1000;
  while (performance.now() < endsAt) during.push(await send('Dashboard', users[during.length % users.length]!));
  console.log(
    `Dashboard during a ${outageSeconds} s outage of every provider (503), ${users.length} users whose files and events had changed:`,
  );
  const ms = during.map((a) => a.ms).sort((a, b) => a - b);
  console.log(
    `  ${during.length} requests  p50 ${percentile(ms, 50).toFixed(1)} ms  p99 ${percentile(ms, 99).toFixed(1)} ms  ` +
      `answers with an error ${during.filter((a) => a.errors).length}  answers with stale marks ${during.filter((a) => a.stale).length}`,
  );
}

await runCommand('bench:cache', async () => {
  authorization = `Bearer ${await mintToken(AuthConfig.parse({}), 'usr_bench', ['admin'], 86_400)}`;
  stack = values.compiled ? await compiled() : await inProcess();
  console.log(values.compiled ? 'each subgraph and gateway a compiled process of its own' : 'the whole stack in this process (tsx)');
  try {
    await measure();
  } finally {
    await stack.close();
  }
});
