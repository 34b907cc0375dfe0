/**
 * Cold start of the deployed programs, TypeScript through tsx (development) against the
 * compiled build (production), from spawn to the first 200 on /readyz, and the resident
 * memory of every process it takes at that point.
 *
 *   npm run bench:cold-start -- [--runs 5]
 *
 * Builds dist/ first. Each run is a fresh process on a free port; runs alternate between
 * the two ways so that a machine getting busier does not favour one of them.
 */
import { readFileSync } from 'node:fs';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/process/cli.js';
import { bareEnv, groupMembers, runToEnd, startProgram } from '../scripts/programs.js';

const usage = 'Usage: npm run bench:cold-start -- [--runs 5]';
const { values } = parseCommandLine({ options: { runs: { type: 'string', default: '5' } } }, usage);
const runs = wholeNumber('runs', values.runs, 1, 50);

const PROGRAMS = {
  'gateway web': { tsx: ['gateway/index.ts', 'web'], compiled: ['dist/gateway/index.js', 'web'], env: { WEB_GATEWAY_PORT: '0' } },
  'subgraph accounts': {
    tsx: ['scripts/run-subgraph.ts', 'accounts'],
    compiled: ['dist/scripts/run-subgraph.js', 'accounts'],
    env: { ACCOUNTS_PORT: '0' },
  },
} as const;
type Way = 'tsx' | 'compiled';

/** Resident memory of a process, from /proc (Linux), in MiB. */
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function coldStart(program: (typeof PROGRAMS)[keyof typeof PROGRAMS], way: Way) {
  const command = way === 'tsx' ? [process.execPath, '--import', 'tsx', ...program.tsx] : [process.execPath, ...program.compiled];
  const startedAt = performance.now();
  const running = await startProgram(command, bareEnv({ ...program.env, LOG_LEVEL: 'info' }));
  const ready = await fetch(`${running.url}/readyz`);
  const ms = performance.now() - startedAt;
  if (ready.status !== 200) throw new Error(`${command.join(' ')}: /readyz answered ${ready.status}`);
  // Every process of the program (the tsx CLI would add one; `node --import tsx` does not).
  const rss = groupMembers(running.child.pid!).reduce((sum, pid) => sum + rssMiB(pid), 0);
  await running.stop();
  return { ms, rss };
}

await runCommand('bench:cold-start', async () => {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  console.log(`cold start, spawn to first /readyz 200; median of ${runs} runs (node ${process.version})`);
  for (const [name, program] of Object.entries(PROGRAMS)) {
    const results: Record<Way, Array<{ ms: number; rss: number }>> = { tsx: [], compiled: [] };
    for (let run = 0; run < runs; run++) {
      for (const way of run % 2 ? (['compiled', 'tsx'] as const) : (['tsx', 'compiled'] as const))
        results[way].push(await coldStart(program, way));
    }
    for (const way of ['tsx', 'compiled'] as const) {
      const ms = median(results[way].map((r) => r.ms));
      const rss = median(results[way].map((r) => r.rss));
      console.log(`${name.padEnd(18)} ${way.padEnd(9)} ${ms.toFixed(0).padStart(5)} ms   rss ${rss.toFixed(0).padStart(4)} MiB`);
    }
  }
});
