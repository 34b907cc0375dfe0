/**
 * Live updates at scale: N concurrent GraphQL-over-SSE subscribers (one user each) of
 * `storedObjectCreated` on the compiled web gateway, each gateway replica subscribing to its own
 * compiled storage subgraph replica, the replicas sharing one Redis stream. Reported per layout
 * (1 and 2 replicas):
 *
 * - memory per idle subscriber: each process's resident memory with every stream open and idle,
 *   less before any was opened, over the subscribers it holds (gateway and subgraph apart);
 * - latency from a bucket notification's POST (as EventBridge sends it, to either storage
 *   replica in turn) to its event at the subscriber it is for, p50 / p99 / max, for `--events`
 *   notifications sent `--every` ms apart while every stream is open.
 *
 *   npm run bench:subscriptions -- [--subscribers 5000] [--events 300] [--every 20]
 *
 * Needs redis-server (Debian's) and as many open files as 3 x subscribers (ulimit -n). Builds
 * dist/ first. The selection needs no upstream call: what is measured is the push path alone.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/process/cli.js';
import { bareEnv, groupMembers, runToEnd, startProgram, type RunningProgram } from '../scripts/programs.js';
import { providerEntry } from '../subgraphs/registry.js';

const usage = 'Usage: npm run bench:subscriptions -- [--subscribers 5000] [--events 300] [--every 20]';
const { values } = parseCommandLine(
  {
    options: {
      subscribers: { type: 'string', default: '5000' },
      events: { type: 'string', default: '300' },
      every: { type: 'string', default: '20' },
    },
  },
  usage,
);
const subscribers = wholeNumber('subscribers', values.subscribers, 1, 20_000);
const events = wholeNumber('events', values.events, 1, 100_000);
const everyMs = wholeNumber('every', values.every, 1, 10_000);

const QUERY = 'subscription Bench { storedObjectCreated { eventId file { key size } } }';
const BUCKET = providerEntry('s3').account.bucket;
const API_KEY = providerEntry('s3').credentials.eventsApiKey;

/** Resident memory of a program's processes, in bytes. */
const rssBytes = (program: RunningProgram) =>
  groupMembers(program.child.pid!).reduce(
    (sum, pid) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    0,
  );

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('Ready to accept connections') && resolve());
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** One SSE subscriber; calls `onEvent` with each pushed file key as it arrives. */
function subscribe(gatewayUrl: string, token: string, onEvent: (key: string) => void): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query: QUERY });
    const request = http.request(
      `${gatewayUrl}/graphql`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${token}`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        if (response.statusCode !== 200) return reject(new Error(`subscription answered ${response.statusCode}`));
        response.setEncoding('utf8');
        let buffer = '';
        response.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const key = /"key":"([^"]+)"/.exec(message)?.[1];
            if (key) onEvent(key);
          }
        });
        response.on('error', () => undefined);
        resolve(request);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const metric = async (program: RunningProgram, pattern: RegExp) =>
  Number(pattern.exec(await (await fetch(`${program.metricsUrl!}/metrics`)).text())?.[1] ?? 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function run(replicas: number, redisUrl: string, tokens: string[]) {
  const programs: RunningProgram[] = [];
  try {
    const storage: RunningProgram[] = [];
    const gateways: RunningProgram[] = [];
    for (let i = 0; i < replicas; i++) {
      const subgraph = await startProgram(
        ['node', 'dist/scripts/run-subgraph.js', 'storage'],
        bareEnv({ STORAGE_PORT: '0', STORAGE_METRICS_PORT: '0', REDIS_URL: redisUrl, LOG_LEVEL: 'info' }),
      );
      programs.push(subgraph);
      storage.push(subgraph);
      const gateway = await startProgram(
        ['node', 'dist/gateway/index.js', 'web'],
        bareEnv({
          WEB_GATEWAY_PORT: '0',
          WEB_METRICS_PORT: '0',
          STORAGE_SUBGRAPH_URL: `${subgraph.url}/graphql`,
          LOG_LEVEL: 'info',
        }),
      );
      programs.push(gateway);
      gateways.push(gateway);
    }
    await sleep(1000);
    const before = programs.map(rssBytes);

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let unexpected = 0;
    const onEvent = (key: string) => {
      const started = sentAt.get(key);
      if (started === undefined) return void unexpected++;
      latencies.push(performance.now() - started);
      sentAt.delete(key);
    };
    const requests: http.ClientRequest[] = [];
    const openedAt = performance.now();
    for (let next = 0; next < tokens.length;) {
      const batch = tokens.slice(next, next + 100);
      requests.push(...(await Promise.all(batch.map((token, i) => subscribe(gateways[(next + i) % replicas]!.url, token, onEvent)))));
      next += batch.length;
    }
    const followers = () =>
      Promise.all(storage.map((s) => metric(s, /^patchbay_event_stream_followers\{[^}]*stream="storage"[^}]*\} (\d+)/m))).then((n) =>
        n.reduce((a, b) => a + b, 0),
      );
    while ((await followers()) < tokens.length) await sleep(200);
    const openMs = performance.now() - openedAt;
    await sleep(3000);
    const idle = programs.map(rssBytes);
    const perSubscriber = (kind: 'gateway' | 'subgraph') => {
      const held = tokens.length / replicas;
      const indexes = programs.map((_, i) => i).filter((i) => (i % 2 === 1) === (kind === 'gateway'));
      return indexes.reduce((sum, i) => sum + (idle[i]! - before[i]!), 0) / indexes.length / held / 1024;
    };

    for (let i = 0; i < events; i++) {
      const user = i % tokens.length;
      const key = `users/usr_bench_${user}/${i}-${randomUUID().slice(0, 8)}.bin`;
      const body = JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Object Created',
        source: 'aws.s3',
        time: new Date().toISOString(),
        detail: { bucket: { name: BUCKET }, object: { key, size: 1, etag: 'e' } },
      });
      sentAt.set(key, performance.now());
      void fetch(`${storage[i % replicas]!.url}/webhooks/s3`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body,
      }).then((r) => r.arrayBuffer());
      await sleep(everyMs);
    }
    const deadline = Date.now() + 10_000;
    while (sentAt.size > 0 && Date.now() < deadline) await sleep(50);
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const request of requests) request.destroy();
    return {
      replicas,
      openMs,
      gatewayKiB: perSubscriber('gateway'),
      subgraphKiB: perSubscriber('subgraph'),
      delivered: latencies.length,
      lost: sentAt.size,
      unexpected,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
    };
  } finally {
    await Promise.all(programs.map((p) => p.stop()));
  }
}

await runCommand('bench:subscriptions', async () => {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  const config = AuthConfig.parse({});
  const tokens = await Promise.all(Array.from({ length: subscribers }, (_, i) => mintToken(config, `usr_bench_${i}`, [])));
  console.log(
    `${subscribers} SSE subscribers (one user each), ${events} bucket notifications ${everyMs} ms apart (node ${process.version}; compiled; one Redis)`,
  );
  console.log('replicas   open all   per idle subscriber: gateway   subgraph   delivered   lost   p50       p99       max');
  for (const replicas of [1, 2]) {
    const redis = await startRedis();
    try {
      const r = await run(replicas, redis.url, tokens);
      console.log(
        `${String(r.replicas).padEnd(10)} ${`${(r.openMs / 1000).toFixed(1)} s`.padEnd(10)} ${`${r.gatewayKiB.toFixed(1)} KiB`.padStart(29)} ${`${r.subgraphKiB.toFixed(1)} KiB`.padStart(10)}   ${String(r.delivered).padEnd(11)} ${String(r.lost).padEnd(6)} ${`${r.p50.toFixed(1)} ms`.padEnd(9)} ${`${r.p99.toFixed(1)} ms`.padEnd(9)} ${r.max.toFixed(1)} ms`,
      );
    } finally {
      redis.stop();
    }
  }
});
