/**
 * patchbay's gateway against the bare engines, in one run, on the same supergraph and the
 * same subgraphs (the shop graph of test/fixtures/shop-graph.ts, in a process of its own), and
 * what each of its policies costs:
 *
 *   - patchbay: the compiled web gateway (`node dist/gateway/index.js web`), NODE_ENV=production,
 *     every policy on (JWT, caller tokens and request signatures, limits, cost, APQ, metrics,
 *     tracing hooks, header rules), its default (Rust) query planner; patchbay-js, the same
 *     with the engine's JavaScript planner;
 *   - hive-rust: bare Hive Gateway (`createGatewayRuntime({ supergraph })` on node:http) with
 *     Hive's Rust query planner, the engine and planner patchbay runs on; hive: the same on its
 *     default JavaScript planner;
 *   - apollo: bare @apollo/gateway in Apollo Server's standalone server.
 *
 *   npm run bench:gateways -- [--seconds 8] [--slice 1] [--rounds 3] [--connections 20] [--warmup 5]
 *                             [--gateways patchbay,hive-rust,...] [--policy-seconds 4]
 *
 * Each gateway runs compiled in its own process; wrk (Debian's `wrk`) drives it from another,
 * with three loads: a small query sent identically by every request, the same query with a
 * distinct variable per request (so that no two concurrent subgraph calls merge), and a query
 * whose answer is about 74 KB. Each gateway gets `seconds` of every load in slices of `slice`
 * seconds, the gateways taking turns slice by slice: this machine's speed changes from one
 * second to the next (two 8 s runs of one gateway differ by up to 20% on a 2-core machine, two
 * sums of alternating slices by 2-4%), and taking turns lets every gateway see the same machine.
 * Each round starts every gateway afresh (two processes of one program differ for their whole
 * life) and rotates who goes first. Prints requests per second, p50 and p99 (the median of the
 * slices'), the gateway's own CPU time per request (from /proc), the median over rounds, and
 * patchbay against bare Hive Gateway with the Rust planner (the goal: at least 0.95x its RPS and
 * at most 1.05x its CPU per request), judged by the median of each round's ratio, with the
 * lowest and highest of them.
 *
 * Then, unless --policy-seconds is 0, the price of each policy: the compiled gateway again,
 * under each load with a CPU profile (`node --cpu-prof`), every sample counted for the policy
 * whose code is innermost on its stack. The profile ranks JavaScript work well but misprices
 * native calls; for a decision, bench/gateways/patchbay.ts starts the gateway without some
 * policies (WITHOUT_POLICIES), to be compared with the full one in slices taking turns, both
 * started together (a process costs more as it ages: docs/adr/0001-gateway-engine.md).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { POLICIES, type Policy } from '../gateway/runtime.js';
import { parseCommandLine, runCommand, usageError, wholeNumber } from '../kit/process/cli.js';
import { SHOP_BENCH } from '../test/fixtures/shop-graph.js';
import { REPO, bareEnv, startProgram, type RunningProgram } from '../scripts/programs.js';
import { PRODUCTION, benchProgram, cpuSeconds, prepare, wrk, wrkScript } from './harness.js';

const GATEWAYS = ['patchbay', 'patchbay-js', 'hive-rust', 'hive', 'apollo'] as const;
type Gateway = (typeof GATEWAYS)[number];
const usage =
  'Usage: npm run bench:gateways -- [--seconds 8] [--slice 1] [--rounds 3] [--connections 20] [--warmup 5] ' +
  `[--gateways ${GATEWAYS.join(',')}] [--policy-seconds 4]`;
const { values } = parseCommandLine(
  {
    options: {
      seconds: { type: 'string', default: '8' },
      slice: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      gateways: { type: 'string', default: GATEWAYS.join(',') },
      'policy-seconds': { type: 'string', default: '4' },
    },
  },
  usage,
);
const seconds = wholeNumber('seconds', values.seconds, 1, 600);
const sliceSeconds = wholeNumber('slice', values.slice, 1, 60);
const slicesPerRun = Math.ceil(seconds / sliceSeconds);
const rounds = wholeNumber('rounds', values.rounds, 1, 20);
const connections = wholeNumber('connections', values.connections, 1, 1000);
const warmupSeconds = wholeNumber('warmup', values.warmup, 0, 60);
const policySeconds = wholeNumber('policy-seconds', values['policy-seconds'], 0, 600);
const chosen = values.gateways.split(',').filter(Boolean);
const unknownGateway = chosen.find((name) => !(GATEWAYS as readonly string[]).includes(name));
if (unknownGateway || !chosen.length) usageError(`--gateways: one or more of ${GATEWAYS.join(', ')}`);
const names = GATEWAYS.filter((name) => chosen.includes(name));

/** The three loads: which query, and whether every request sends the same variables. */
const LOADS = [
  { name: 'small', query: 'small', distinct: false },
  { name: 'small, distinct', query: 'small', distinct: true },
  { name: 'large', query: 'large', distinct: false },
] as const;
type Load = (typeof LOADS)[number];
/** What the issue this benchmark answers asks of patchbay against hive-rust, on every load. */
const GOAL = { rps: 0.95, cpu: 1.05 };

interface Run {
  rps: number;
  p50: number;
  p99: number;
  cpuMs: number;
  failed: number;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianRun = (runs: Run[]): Run => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  cpuMs: median(runs.map((r) => r.cpuMs)),
  failed: runs.reduce((sum, r) => sum + r.failed, 0),
});

/** Where each policy's code lives in dist/: the modules a sample's stack is searched for, innermost first. */
const POLICY_MODULES: Record<string, Policy> = {
  'gateway/metrics.js': 'metrics',
  'gateway/plugins/cors.js': 'cors',
  'gateway/plugins/client-auth.js': 'authentication',
  'gateway/auth.js': 'authentication',
  'gateway/jwks.js': 'authentication',
  'gateway/plugins/subscription-policy.js': 'subscriptions',
  'gateway/plugins/event-ids.js': 'event-ids',
  'gateway/plugins/json-bodies.js': 'json-bodies',
  'gateway/plugins/request-limits.js': 'request-limits',
  'gateway/plugins/automatic-persisted-queries.js': 'persisted-queries',
  'gateway/persisted-query-store.js': 'persisted-queries',
  'gateway/plugins/safelist.js': 'persisted-queries',
  'gateway/plugins/parser-limits.js': 'parser-limits',
  'gateway/selections.js': 'parser-limits',
  'gateway/plugins/shape-limits.js': 'shape-limits',
  'gateway/plugins/suggestions.js': 'no-suggestions',
  'gateway/plugins/request-errors.js': 'request-errors',
  'gateway/plugins/demand-control.js': 'demand-control',
  'gateway/cost.js': 'demand-control',
  'gateway/plugins/incremental.js': 'incremental',
  'gateway/plugins/request-context.js': 'request-context',
  'gateway/plugins/staleness.js': 'stale-marks',
  'gateway/plugins/cache-control.js': 'cache-control',
  'gateway/cache-control.js': 'cache-control',
  'gateway/plugins/subgraph-headers.js': 'caller-tokens',
  'kit/caller/token.js': 'caller-tokens',
  'gateway/plugins/signed-subgraph-requests.js': 'request-signatures',
  'kit/caller/body-signature.js': 'request-signatures',
  'gateway/plugins/tracing.js': 'tracing',
  'kit/process/tracing.js': 'tracing',
};
const unmapped = POLICIES.filter((policy) => !Object.values(POLICY_MODULES).includes(policy));
if (unmapped.length) throw new Error(`bench/gateways.ts: no module of ${unmapped.join(', ')} in POLICY_MODULES`);
const ENGINE = 'engine';

/** The parts of a V8 CPU profile (`node --cpu-prof`) read here. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { url: string; functionName: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds of CPU by policy (or ENGINE), samples taken while modules load left out. */
function attribute(profile: CpuProfile): Map<string, number> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const distUrl = `file://${REPO}dist/`;
  const ownerOf = new Map<number, string | undefined>();
  const owner = (id: number): string | undefined => {
    if (ownerOf.has(id)) return ownerOf.get(id);
    let found: string | undefined = ENGINE;
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const { url, functionName } = nodes.get(at)!.callFrame;
      if (url.startsWith('node:internal/modules') || functionName === '(idle)') {
        found = undefined;
        break;
      }
      const policy = url.startsWith(distUrl) ? POLICY_MODULES[url.slice(distUrl.length)] : undefined;
      if (policy) {
        found = policy;
        break;
      }
    }
    ownerOf.set(id, found);
    return found;
  };
  const spent = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const who = owner(id);
    if (who) spent.set(who, (spent.get(who) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return spent;
}

await runCommand('bench:gateways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-bench-gateways-'));
  const supergraph = join(dir, 'supergraph.graphql');
  const programs: RunningProgram[] = [];
  const start = (command: string[], env: Record<string, string>) => startProgram(command, bareEnv(env)).then((p) => (programs.push(p), p));
  const stop = async (program: RunningProgram) => {
    programs.splice(programs.indexOf(program), 1);
    await program.stop();
  };
  try {
    programs.push(await prepare(supergraph));
    // Every policy on, in production mode; limits raised only so that every gateway does the same work.
    const patchbayEnv = {
      ...PRODUCTION,
      WEB_SUPERGRAPH_PATH: supergraph,
      WEB_GATEWAY_PORT: '0',
      WEB_MAX_COST: '1000000',
      LOG_LEVEL: 'info',
    };
    const bare = { SUPERGRAPH_PATH: supergraph, APOLLO_TELEMETRY_DISABLED: '1' };
    const commands: Record<Gateway, [string[], Record<string, string>, string]> = {
      patchbay: [['node', 'dist/gateway/index.js', 'web'], patchbayEnv, '/graphql'],
      'patchbay-js': [['node', 'dist/gateway/index.js', 'web'], { ...patchbayEnv, QUERY_PLANNER: 'js' }, '/graphql'],
      'hive-rust': [['node', benchProgram('bare-hive')], { ...bare, HIVE_PLANNER: 'rust' }, '/graphql'],
      hive: [['node', benchProgram('bare-hive')], bare, '/graphql'],
      apollo: [['node', benchProgram('bare-apollo')], bare, '/'],
    };
    const gateways = new Map<Gateway, { program: RunningProgram; url: string }>();
    const startGateways = async () => {
      for (const name of names) {
        const [command, env, path] = commands[name];
        const program = await start(command, env);
        gateways.set(name, { program, url: `${program.url}${path}` });
      }
    };
    const stopGateways = async () => {
      for (const { program } of gateways.values()) await stop(program);
    };
    await startGateways();
    const authorization = `Bearer ${await mintToken(AuthConfig.parse(PRODUCTION), 'u1', [], 86_400)}`;
    const scripts = new Map(
      LOADS.map((load) => {
        const bench = SHOP_BENCH[load.query];
        const variables = load.distinct ? Array.from({ length: 60 }, (_, n) => bench.distinct(n)) : [bench.same];
        const bodies = variables.map((v) => JSON.stringify({ query: bench.query, variables: v }));
        return [load, wrkScript(dir, bodies, authorization)];
      }),
    );
    const answer = async (url: string, query: Load['query']) => {
      const body = JSON.stringify({ query: SHOP_BENCH[query].query, variables: SHOP_BENCH[query].same });
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body });
      return response.text();
    };
    // Every gateway must answer every benchmark request, with the same data.
    const checkAlike = async (urls: string[]) => {
      for (const query of ['small', 'large'] as const) {
        const answers = await Promise.all(urls.map((url) => answer(url, query)));
        const parsed = answers.map((text) => JSON.parse(text) as { data?: unknown; errors?: unknown });
        const reference = JSON.stringify((JSON.parse(await answer(urls[0]!, query)) as { data?: unknown }).data);
        if (parsed.some((a) => a.errors || JSON.stringify(a.data) !== reference)) {
          throw new Error(`the gateways do not answer ${query} alike: ${answers.map((a) => a.slice(0, 200)).join(' | ')}`);
        }
        if (urls.length === gateways.size) console.log(`${query}: ${(Buffer.byteLength(answers[0]!) / 1024).toFixed(1)} KB response`);
      }
    };
    await checkAlike([...gateways.values()].map((g) => g.url));

    // One load on the gateways in turn, in slices: the machine's speed changes from one second
    // to the next (two 8 s runs of one gateway differ by up to 20% here), and slices alternating
    // every second let each gateway's sum see the same machine.
    const measureInSlices = async (order: Gateway[], load: Load): Promise<Map<Gateway, Run>> => {
      const script = scripts.get(load)!;
      const sums = new Map(order.map((name) => [name, { requests: 0, cpu: 0, p50: [] as number[], p99: [] as number[], failed: 0 }]));
      if (warmupSeconds) for (const name of order) await wrk(gateways.get(name)!.url, script, warmupSeconds, connections);
      for (let slice = 0; slice < slicesPerRun; slice++) {
        for (const name of order) {
          const { program, url } = gateways.get(name)!;
          const cpuBefore = cpuSeconds(program);
          const run = await wrk(url, script, sliceSeconds, connections);
          const sum = sums.get(name)!;
          sum.cpu += cpuSeconds(program) - cpuBefore;
          sum.requests += run.requests;
          sum.p50.push(run.p50);
          sum.p99.push(run.p99);
          sum.failed += run.failed;
        }
      }
      return new Map(
        [...sums].map(([name, sum]) => [
          name,
          {
            rps: sum.requests / (slicesPerRun * sliceSeconds),
            p50: median(sum.p50),
            p99: median(sum.p99),
            cpuMs: (sum.cpu * 1000) / Math.max(1, sum.requests),
            failed: sum.failed,
          },
        ]),
      );
    };

    const results = new Map<string, Run[]>();
    const record = (key: string, run: Run) => results.set(key, [...(results.get(key) ?? []), run]);
    for (let round = 0; round < rounds; round++) {
      // Every round on fresh processes: two processes of the same program differ by up to 10%
      // for their whole life (what their JIT made of it, where their heap lies), which one
      // process per gateway would make part of the comparison.
      if (round > 0) {
        await stopGateways();
        await startGateways();
      }
      for (const load of LOADS) {
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        for (const [name, run] of await measureInSlices(order, load)) record(`${name}|${load.name}`, run);
      }
    }
    const cell = (name: string, load: Load) => medianRun(results.get(`${name}|${load.name}`)!);
    const ratio = (value: number, base: number | undefined) => (base ? `${(value / base).toFixed(2)}x` : '-');

    console.log(
      `\n${connections} connections, ${slicesPerRun * sliceSeconds} s per gateway and load in ${sliceSeconds} s slices taking turns, ` +
        `median of ${rounds} rounds (node ${process.version})`,
    );
    console.log(
      'load             gateway        RPS    p50 ms   p99 ms  CPU ms/req  failed  vs apollo  vs hive  vs hive-rust  CPU vs hive-rust',
    );
    for (const load of LOADS) {
      const base = (name: Gateway) => (gateways.has(name) ? cell(name, load) : undefined);
      for (const name of names) {
        const c = cell(name, load);
        console.log(
          `${load.name.padEnd(16)} ${name.padEnd(12)} ${c.rps.toFixed(0).padStart(6)}  ${c.p50.toFixed(2).padStart(7)}  ${c.p99.toFixed(2).padStart(7)}` +
            `  ${c.cpuMs.toFixed(3).padStart(10)}  ${String(c.failed).padStart(6)}  ${ratio(c.rps, base('apollo')?.rps).padStart(9)}` +
            `  ${ratio(c.rps, base('hive')?.rps).padStart(7)}  ${ratio(c.rps, base('hive-rust')?.rps).padStart(12)}` +
            `  ${ratio(c.cpuMs, base('hive-rust')?.cpuMs).padStart(16)}`,
        );
      }
    }
    if (gateways.has('patchbay') && gateways.has('hive-rust')) {
      console.log(
        `\npatchbay against bare Hive Gateway with the Rust planner (goal: RPS >= ${GOAL.rps}x, CPU per request <= ${GOAL.cpu}x):`,
      );
      // Each round's ratio of two runs made minutes apart at most, then their median: a machine
      // that is slower for a while weighs on both sides of a ratio instead of on one median.
      const perRound = (load: Load, of: (run: Run) => number) => {
        const theirs = results.get(`hive-rust|${load.name}`)!;
        return results.get(`patchbay|${load.name}`)!.map((run, round) => of(run) / of(theirs[round]!));
      };
      const spread = (ratios: number[]) => `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`;
      for (const load of LOADS) {
        const rpsRatios = perRound(load, (run) => run.rps);
        const cpuRatios = perRound(load, (run) => run.cpuMs);
        const [rps, cpu] = [median(rpsRatios), median(cpuRatios)];
        const met = rps >= GOAL.rps && cpu <= GOAL.cpu;
        console.log(
          `  ${load.name.padEnd(16)} RPS ${rps.toFixed(2)}x (rounds ${spread(rpsRatios)}), ` +
            `CPU ${cpu.toFixed(2)}x (rounds ${spread(cpuRatios)}): ${met ? 'met' : 'NOT met'}`,
        );
      }
    }
    await stopGateways();
    if (!policySeconds) return;

    // The price of each policy, from a CPU profile of the compiled gateway under each load: a
    // sample counts for the policy whose code is innermost on its stack (with what that code
    // calls: jose, prom-client, graphql-js), the rest for the engine, the server and the
    // collector. One process per load; its start (module loading) is left out.
    const perRequest = new Map<string, number[]>();
    for (const [i, load] of LOADS.entries()) {
      const profileDir = join(dir, `profile-${i}`);
      const program = await start(['node', `--cpu-prof-dir=${profileDir}`, '--cpu-prof', 'dist/gateway/index.js', 'web'], patchbayEnv);
      const url = `${program.url}/graphql`;
      const warm = await wrk(url, scripts.get(load)!, Math.max(warmupSeconds, 1), connections);
      const run = await wrk(url, scripts.get(load)!, policySeconds, connections);
      await stop(program);
      const [file] = readdirSync(profileDir);
      if (!file) throw new Error('the gateway wrote no CPU profile');
      const spent = attribute(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile);
      const requests = warm.requests + run.requests;
      for (const [owner, micros] of spent) {
        const row = perRequest.get(owner) ?? LOADS.map(() => 0);
        row[i] = micros / requests / 1000;
        perRequest.set(owner, row);
      }
    }
    console.log(
      `\nWhat each policy costs: CPU ms per request in its own code and what that calls, and its share of all the ` +
        `gateway's CPU, from a CPU profile of the compiled gateway under each load (${policySeconds} s after ` +
        `${Math.max(warmupSeconds, 1)} s of warm-up; the profiler slows everything alike)`,
    );
    console.log(`${'policy'.padEnd(22)}${LOADS.map((load) => load.name.padStart(22)).join('')}`);
    const totals = LOADS.map((_, i) => [...perRequest.values()].reduce((sum, costs) => sum + costs[i]!, 0));
    const row = (name: string, costs: number[]) =>
      console.log(
        `${name.padEnd(22)}${LOADS.map((_, i) => `${costs[i]!.toFixed(3)} (${((100 * costs[i]!) / totals[i]!).toFixed(1)}%)`.padStart(22)).join('')}`,
      );
    const zero = LOADS.map(() => 0);
    for (const policy of POLICIES) row(policy, perRequest.get(policy) ?? zero);
    row(
      'every policy',
      LOADS.map((_, i) => POLICIES.reduce((sum, policy) => sum + (perRequest.get(policy)?.[i] ?? 0), 0)),
    );
    row('engine, server, GC', perRequest.get(ENGINE) ?? zero);
  } finally {
    for (const program of programs.reverse()) await program.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
