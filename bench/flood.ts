/**
 * A flood of what a gateway must refuse while an ordinary small query runs: the small query's
 * latency with and without the flood, for patchbay's compiled web gateway in production mode,
 * and for the same gateway with the limits in question lifted (what refusing them cost before).
 * `--attack documents` (the default): the worst documents of test/full/abuse.test.ts's battery (a
 * field repeated 490 times, fragments that double, an unused fragment full of repeats, a list
 * literal 5,000 deep, one token too many), against lifted pre-validation limits (validation's
 * pairwise field comparisons). `--attack variables`: 90 KB bodies of variables nested 45,000
 * deep, 45,000 values wide, or one 90 KB string, against lifted variable limits (what parsing,
 * coercing and forwarding them cost).
 *
 *   npm run bench:flood -- [--attack documents|variables] [--seconds 8] [--attackers 6] [--connections 2]
 *
 * The subgraphs are the shop graph (test/fixtures/shop-graph.ts) in a process of their own;
 * wrk (Debian's `wrk`) sends the small query; the attackers, in this process, each send refused
 * documents at a byte rate (30 KB/s each, as the reported attack; then ten and a hundred times
 * that), each one unique so that no cache answers for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { parseCommandLine, runCommand, usageError, wholeNumber } from '../kit/process/cli.js';
import { SHOP_BENCH } from '../test/fixtures/shop-graph.js';
import { bareEnv, startProgram, type RunningProgram } from '../scripts/programs.js';
import { PRODUCTION, cpuSeconds, prepare, wrk, wrkScript } from './harness.js';

const usage = 'Usage: npm run bench:flood -- [--attack documents|variables] [--seconds 8] [--attackers 6] [--connections 2]';
const { values } = parseCommandLine(
  {
    options: {
      attack: { type: 'string', default: 'documents' },
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
if (values.attack !== 'documents' && values.attack !== 'variables') usageError(`--attack must be documents or variables\n${usage}`);
const attack = values.attack;

const repeat = (text: string, times: number) => Array(times).fill(text).join(' ');
/** The worst refused documents of the abuse suite's battery, as bodies (each made unique by `n`: a comment differs). */
const DOCUMENTS = [
  `{ ${repeat('me { id }', 490)} }`,
  `${Array.from({ length: 25 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F25 on Query { me { id } } { ...F0 }`,
  `fragment X on Query { ${repeat('me { id }', 300)} } { me { id } }`,
  `{ user(id: ${'['.repeat(5000)}${']'.repeat(5000)}) { id } }`,
  `{ me { ${repeat('id', 2000)} } }`,
].map((query) => (n: number) => JSON.stringify({ query: `${query} # ${n}` }));
/** 90 KB of variables of a small query: nested, wide, or one long string (each unique by `n`). */
const SMALL_QUERY = 'query Small($id: ID!) { user(id: $id) { id name } }';
const VARIABLES = [
  (n: number) => `{"query":"${SMALL_QUERY}","variables":{"id":"u${n}","v":${'['.repeat(45_000)}${']'.repeat(45_000)}}}`,
  (n: number) => `{"query":"${SMALL_QUERY}","variables":{"id":[${Array(45_000).fill(1).join(',')}],"n":${n}}}`,
  (n: number) => JSON.stringify({ query: SMALL_QUERY, variables: { id: `u${n}${'x'.repeat(90_000)}` } }),
];
const FLOOD = attack === 'documents' ? DOCUMENTS : VARIABLES;

/** Attackers sending FLOOD round robin, each at `bytesPerSecond`, until stopped. */
function flood(url: string, authorization: string, bytesPerSecond: number) {
  let running = true;
  const counts = { sent: 0, refused: 0, other: 0 };
  const attacker = async (offset: number) => {
    for (let n = offset; running; n++) {
      // Each body unique, as an attacker defeating the parse and validation caches sends them.
      const body = FLOOD[n % FLOOD.length]!(n);
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
    const lifted: Record<string, string> =
      attack === 'documents'
        ? { WEB_MAX_FIELD_REPEATS: '1000', WEB_MAX_SELECTIONS: '100000' }
        : { WEB_MAX_VARIABLE_DEPTH: '1000000', WEB_MAX_VARIABLE_VALUES: '1000000', WEB_MAX_VARIABLE_CHARS: '10000000' };
    const configurations = { patchbay: gatewayEnv, 'limits lifted': { ...gatewayEnv, ...lifted } };
    const authorization = `Bearer ${await mintToken(AuthConfig.parse(PRODUCTION), 'u1', [], 86_400)}`;
    const script = wrkScript(dir, [JSON.stringify({ query: SHOP_BENCH.small.query, variables: SHOP_BENCH.small.same })], authorization);

    console.log(
      `small query over ${connections} connections for ${seconds} s; ${attackers} attackers sending ${attack === 'documents' ? 'refused documents' : '90 KB of variables'} (node ${process.version})`,
    );
    console.log('gateway          flood                  small p50 ms   p99 ms   small req/s   refused/s   other   gateway CPU');
    for (const [name, env] of Object.entries(configurations)) {
      const gateway = await startProgram(['node', 'dist/gateway/index.js', 'web'], bareEnv({ ...env, LOG_LEVEL: 'info' }));
      programs.push(gateway);
      const url = `${gateway.url}/graphql`;
      await wrk(url, script, 2, connections);
      for (const kbPerSecond of [0, 30, 300, 3000]) {
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
