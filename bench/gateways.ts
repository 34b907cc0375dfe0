/**
 * patchbay's gateway against the bare engines, in one run, on the same supergraph and the
 * same subgraphs (the shop graph of test/fixtures/shop-graph.ts, in a process of its own):
 *
 *   - patchbay: the compiled web gateway (`node dist/gateway/index.js web`), NODE_ENV=production,
 *     every policy on (JWT, caller tokens, limits, APQ, header rules), its default (Rust) query
 *     planner; and patchbay-js, the same with the engine's JavaScript planner;
 *   - bare Hive Gateway: `createGatewayRuntime({ supergraph })` on node:http;
 *   - bare Apollo Gateway: @apollo/gateway in Apollo Server's standalone server.
 *
 *   npm run bench:gateways -- [--seconds 8] [--rounds 2] [--connections 20] [--warmup 2]
 *
 * Each gateway runs in its own process; wrk (Debian's `wrk`) drives it from another, for a
 * small and a large (about 90 KB) query, with every request the same or every request
 * different (other variables). Rounds interleave the gateways so a machine that gets busier
 * does not favour one. Prints requests per second, p50, p99 and the gateway's own CPU time
 * per request (from /proc), the median over rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/process/cli.js';
import { SHOP_BENCH } from '../test/fixtures/shop-graph.js';
import { bareEnv, startProgram, tsxProgram, type RunningProgram } from '../scripts/programs.js';
import { PRODUCTION, cpuSeconds, prepare, wrk, wrkScript } from './harness.js';

const usage = 'Usage: npm run bench:gateways -- [--seconds 8] [--rounds 2] [--connections 20] [--warmup 2]';
const { values } = parseCommandLine(
  {
    options: {
      seconds: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '2' },
    },
  },
  usage,
);
const seconds = wholeNumber('seconds', values.seconds, 1, 600);
const rounds = wholeNumber('rounds', values.rounds, 1, 20);
const connections = wholeNumber('connections', values.connections, 1, 1000);
const warmupSeconds = wholeNumber('warmup', values.warmup, 0, 60);

type Gateway = 'patchbay' | 'patchbay-js' | 'hive' | 'apollo';
type Query = keyof typeof SHOP_BENCH;
type Mode = 'same' | 'distinct';
interface Cell {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number;
  failed: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

await runCommand('bench:gateways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-bench-gateways-'));
  const supergraph = join(dir, 'supergraph.graphql');
  const programs: RunningProgram[] = [];
  try {
    programs.push(await prepare(supergraph));
    const start = (command: string[], env: Record<string, string>) =>
      startProgram(command, bareEnv(env)).then((p) => (programs.push(p), p));
    // Every policy on, in production mode, the default (Rust) planner; and the same with the engine's JavaScript planner.
    const patchbayEnv = {
      ...PRODUCTION,
      WEB_SUPERGRAPH_PATH: supergraph,
      WEB_GATEWAY_PORT: '0',
      WEB_MAX_COST: '1000000',
      LOG_LEVEL: 'info',
    };
    const gateways: Record<Gateway, { program: RunningProgram; url: string }> = {
      patchbay: await start(['node', 'dist/gateway/index.js', 'web'], patchbayEnv).then((program) => ({
        program,
        url: `${program.url}/graphql`,
      })),
      'patchbay-js': await start(['node', 'dist/gateway/index.js', 'web'], { ...patchbayEnv, QUERY_PLANNER: 'js' }).then((program) => ({
        program,
        url: `${program.url}/graphql`,
      })),
      hive: await start(tsxProgram('bench/gateways/bare-hive.ts'), { SUPERGRAPH_PATH: supergraph }).then((program) => ({
        program,
        url: `${program.url}/graphql`,
      })),
      apollo: await start(tsxProgram('bench/gateways/bare-apollo.ts'), { SUPERGRAPH_PATH: supergraph }).then((program) => ({
        program,
        url: `${program.url}/`,
      })),
    };
    const authorization = `Bearer ${await mintToken(AuthConfig.parse(PRODUCTION), 'u1', [], 86_400)}`;

    // Every gateway must answer every benchmark request, with the same data.
    for (const query of Object.keys(SHOP_BENCH) as Query[]) {
      const body = JSON.stringify({ query: SHOP_BENCH[query].query, variables: SHOP_BENCH[query].same });
      const answers = await Promise.all(
        Object.values(gateways).map(async ({ url }) =>
          (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body })).text(),
        ),
      );
      const parsed = answers.map((text) => JSON.parse(text) as { data?: unknown; errors?: unknown });
      if (parsed.some((answer) => answer.errors) || new Set(parsed.map((answer) => JSON.stringify(answer.data))).size !== 1) {
        throw new Error(`the gateways do not answer ${query} alike: ${answers.map((a) => a.slice(0, 200)).join(' | ')}`);
      }
      console.log(`${query}: ${(answers[0]!.length / 1024).toFixed(1)} KB response`);
    }

    const results = new Map<string, Cell[]>();
    const names = Object.keys(gateways) as Gateway[];
    for (let round = 0; round < rounds; round++) {
      for (const query of Object.keys(SHOP_BENCH) as Query[]) {
        for (const mode of ['same', 'distinct'] as Mode[]) {
          const bench = SHOP_BENCH[query];
          const bodies = (mode === 'same' ? [bench.same] : Array.from({ length: 60 }, (_, n) => bench.distinct(n))).map((variables) =>
            JSON.stringify({ query: bench.query, variables }),
          );
          const script = wrkScript(dir, bodies, authorization);
          const order = names.map((_, i) => names[(i + round) % names.length]!);
          for (const name of order) {
            const { program, url } = gateways[name];
            if (warmupSeconds) await wrk(url, script, warmupSeconds, connections);
            const cpuBefore = cpuSeconds(program);
            const run = await wrk(url, script, seconds, connections);
            const cpu = cpuSeconds(program) - cpuBefore;
            const key = `${name}|${query}|${mode}`;
            results.set(key, [
              ...(results.get(key) ?? []),
              { rps: run.rps, p50: run.p50, p99: run.p99, cpuMs: (cpu * 1000) / Math.max(1, run.requests), failed: run.failed },
            ]);
          }
        }
      }
    }

    console.log(`\n${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds (node ${process.version})`);
    console.log('query  requests  gateway        RPS      p50 ms   p99 ms   CPU ms/req  failed   vs Apollo  vs Hive');
    for (const query of Object.keys(SHOP_BENCH) as Query[]) {
      for (const mode of ['same', 'distinct'] as Mode[]) {
        const cell = (name: Gateway) => {
          const runs = results.get(`${name}|${query}|${mode}`)!;
          return {
            rps: median(runs.map((r) => r.rps)),
            p50: median(runs.map((r) => r.p50)),
            p99: median(runs.map((r) => r.p99)),
            cpuMs: median(runs.map((r) => r.cpuMs)),
            failed: runs.reduce((a, r) => a + r.failed, 0),
          };
        };
        for (const name of names) {
          const c = cell(name);
          console.log(
            `${query.padEnd(6)} ${mode.padEnd(9)} ${name.padEnd(13)} ${c.rps.toFixed(0).padStart(6)}  ${c.p50.toFixed(2).padStart(7)}  ${c.p99.toFixed(2).padStart(7)}  ${c.cpuMs.toFixed(3).padStart(10)}  ${String(c.failed).padStart(6)}` +
              `   ${(c.rps / cell('apollo').rps).toFixed(2).padStart(7)}x ${(c.rps / cell('hive').rps).toFixed(2).padStart(6)}x`,
          );
        }
      }
    }
  } finally {
    for (const program of programs.reverse()) await program.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
