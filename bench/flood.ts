/**
 * A flood of the worst documents a gateway refuses (test/abuse.test.ts's battery: a field
 * repeated 490 times, fragments that double, an unused fragment full of repeats, a 20,000-deep
 * list literal, one token too many) while an ordinary small query runs: the small query's
 * latency with and without the flood, for patchbay's compiled web gateway in production mode,
 * and for the same gateway with the pre-validation limits lifted (what refusing them cost
 * before: validation's pairwise field comparisons).
 *
 *   npm run bench:flood -- [--seconds 8] [--attackers 6] [--connections 2]
 *
 * The subgraphs are the shop graph (test/fixtures/shop-graph.ts) in a process of their own;
 * wrk (Debian's `wrk`) sends the small query; the attackers, in this process, each send refused
 * documents at a byte rate (30 KB/s each, as the reported attack; then ten times that), each
 * one unique so that no cache answers for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/cli.js';
import { SHOP_BENCH } from '../test/fixtures/shop-graph.js';
import { bareEnv, startProgram, type RunningProgram } from '../test/programs.js';
import { PRODUCTION, cpuSeconds, prepare, wrk, wrkScript } from './harness.js';

const usage = 'Usage: npm run bench:flood -- [--seconds 8] [--attackers 6] [--connections 2]';
const { values } = parseCommandLine(
  {
    options: {
      seconds: { type: 'string', default: '8' },
      attackers: { type: 'string', default: '6' },
      connections: { type: 'string', default: '2' },
    },
  },
  usage,
);
const seconds = wholeNumber('seconds', values.seconds, 1, 600);
const attackers = wholeNumber('attackers', values.attackers, 1, 100);
const connections = wholeNumber('connections', values.connections, 1, 100);

const repeat = (text: string, times: number) => Array(times).fill(text).join(' ');
/** The worst refused documents of the abuse suite's battery (queries). */
const FLOOD = [
  `{ ${repeat('me { id }', 490)} }`,
  `${Array.from({ length: 25 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F25 on Query { me { id } } { ...F0 }`,
  `fragment X on Query { ${repeat('me { id }', 300)} } { me { id } }`,
  `{ user(id: ${'['.repeat(20_000)}${']'.repeat(20_000)}) { id } }`,
  `{ me { ${repeat('id', 2000)} } }`,
];

/** Attackers sending FLOOD round robin, each at `bytesPerSecond`, until stopped. */
function flood(url: string, authorization: string, bytesPerSecond: number) {
  let running = true;
  const counts = { sent: 0, refused: 0, other: 0 };
  const attacker = async (offset: number) => {
    for (let n = offset; running; n++) {
      // Each document unique (a comment differs), as an attacker defeating the parse and validation caches sends them.
      const body = JSON.stringify({ query: `${FLOOD[n % FLOOD.length]!} # ${n}` });
      const started = Date.now();
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization },
          body,
        });
        await response.arrayBuffer();
        counts[response.status === 400 ? 'refused' : 'other']++;
      } catch {
        counts.other++;
      }
      counts.sent++;
      const due = (body.length / bytesPerSecond) * 1000 - (Date.now() - started);
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    }
  };
  const done = Promise.all(Array.from({ length: attackers }, (_, i) => attacker(i)));
  return {
    counts,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

await runCommand('bench:flood', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-bench-flood-'));
  const supergraph = join(dir, 'supergraph.graphql');
  const programs: RunningProgram[] = [];
  try {
    programs.push(await prepare(supergraph));
    const gatewayEnv = { ...PRODUCTION, WEB_SUPERGRAPH_PATH: supergraph, WEB_GATEWAY_PORT: '0', LOG_LEVEL: 'warn' };
    const configurations = {
      patchbay: gatewayEnv,
      'limits lifted': { ...gatewayEnv, WEB_MAX_FIELD_REPEATS: '1000', WEB_MAX_SELECTIONS: '100000' },
    };
    const authorization = `Bearer ${await mintToken(AuthConfig.parse(PRODUCTION), 'u1', [], 86_400)}`;
    const script = wrkScript(dir, [JSON.stringify({ query: SHOP_BENCH.small.query, variables: SHOP_BENCH.small.same })], authorization);

    console.log(
      `small query over ${connections} connections for ${seconds} s; ${attackers} attackers sending refused documents (node ${process.version})`,
    );
    console.log('gateway          flood                  small p50 ms   p99 ms   small req/s   refused/s   other   gateway CPU');
    for (const [name, env] of Object.entries(configurations)) {
      const gateway = await startProgram(['node', 'dist/gateway/index.js', 'web'], bareEnv({ ...env, LOG_LEVEL: 'info' }));
      programs.push(gateway);
      const url = `${gateway.url}/graphql`;
      await wrk(url, script, 2, connections);
      for (const kbPerSecond of [0, 30, 300]) {
        const attack = kbPerSecond ? flood(url, authorization, kbPerSecond * 1024) : undefined;
        const cpuBefore = cpuSeconds(gateway);
        const run = await wrk(url, script, seconds, connections);
        const cpu = cpuSeconds(gateway) - cpuBefore;
        await attack?.stop();
        const label = kbPerSecond ? `${attackers} x ${kbPerSecond} KB/s` : 'none';
        console.log(
          `${name.padEnd(16)} ${label.padEnd(22)} ${run.p50.toFixed(2).padStart(12)} ${run.p99.toFixed(2).padStart(8)} ${run.rps.toFixed(0).padStart(13)} ${((attack?.counts.refused ?? 0) / seconds).toFixed(0).padStart(11)} ${String(attack?.counts.other ?? 0).padStart(7)} ${`${((cpu / seconds) * 100).toFixed(0)}%`.padStart(13)}`,
        );
      }
    }
  } finally {
    for (const program of programs.reverse()) await program.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
