/**
 * What the gateway benchmarks share: the production environment the compiled gateway runs
 * with, the build, the shop graph's subgraphs in a process of their own, load from wrk
 * (Debian's `wrk`) and CPU time from /proc.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO, bareEnv, groupMembers, runToEnd, startProgram, type RunningProgram } from '../scripts/programs.js';

/** The web gateway's environment in production mode, with secrets of the benchmark's own. */
export const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklmnop',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'patchbay-web',
  INTERNAL_TOKEN_SECRET: 'bench-internal-secret-0123456789abcdefghij',
  WEB_CORS_ORIGINS: 'https://app.example.com',
};

/**
 * Compiles the programs (the gateway runs from dist/) and the benchmark's own (bench/gateways/,
 * beside them in dist/, so that every gateway measured runs compiled), checks wrk is there, and
 * starts the shop graph's subgraphs, which write their supergraph to `supergraph`.
 */
export async function prepare(supergraph: string): Promise<RunningProgram> {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  const benchPrograms = join(dirname(supergraph), 'tsconfig.bench.json');
  writeFileSync(
    benchPrograms,
    JSON.stringify({
      extends: join(REPO, 'tsconfig.build.json'),
      compilerOptions: { outDir: join(REPO, 'dist'), rootDir: REPO, typeRoots: [join(REPO, 'node_modules/@types')] },
      include: [],
      files: readdirSync(join(REPO, 'bench/gateways')).map((file) => join(REPO, 'bench/gateways', file)),
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = await runToEnd([process.execPath, tsc, '-p', benchPrograms], process.env, { timeoutMs: 180_000 });
  if (compiled.status !== 0) throw new Error(`the benchmark's programs did not compile: ${compiled.stdout || compiled.stderr}`);
  if ((await runToEnd(['which', 'wrk'], process.env)).status !== 0) throw new Error('wrk is not installed (Debian: apt-get install wrk)');
  return startProgram(['node', benchProgram('shop')], bareEnv({ SUPERGRAPH_OUT: supergraph }));
}

/** A compiled program of bench/gateways/ (after `prepare`). */
export const benchProgram = (name: string) => join(REPO, 'dist/bench/gateways', `${name}.js`);

/** CPU seconds (user + system) of every process of a program, from /proc. */
export function cpuSeconds(program: RunningProgram): number {
  const ticksPerSecond = 100;
  return groupMembers(program.child.pid!).reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      return sum;
    }
  }, 0);
}

/** A wrk script sending `bodies` round robin. */
export function wrkScript(dir: string, bodies: string[], authorization: string): string {
  const file = join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
  const lua = [
    'wrk.method = "POST"',
    'wrk.headers["Content-Type"] = "application/json"',
    `wrk.headers["Authorization"] = ${JSON.stringify(authorization)}`,
    `local bodies = { ${bodies.map((b) => JSON.stringify(b)).join(', ')} }`,
    'local n = 0',
    'request = function()',
    '  n = n + 1',
    '  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])',
    'end',
  ].join('\n');
  writeFileSync(file, lua);
  return file;
}

const ms = (text: string | undefined): number => {
  const match = /([\d.]+)(us|ms|s)/.exec(text ?? '');
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
};

export async function wrk(url: string, script: string, durationSeconds: number, connections: number) {
  const { status, stdout, stderr } = await runToEnd(
    ['wrk', '-t1', `-c${connections}`, `-d${durationSeconds}s`, '--latency', '-s', script, url],
    process.env,
    { timeoutMs: (durationSeconds + 30) * 1000 },
  );
  if (status !== 0) throw new Error(`wrk failed: ${stderr || stdout}`);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1]),
    failed:
      Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) +
      Number(
        /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
          .exec(stdout)
          ?.slice(1)
          .reduce((a, b) => a + Number(b), 0) ?? 0,
      ),
  };
}

/** The p-th percentile of ascending `sorted` (nearest rank). */
export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
