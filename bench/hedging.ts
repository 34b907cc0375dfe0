/**
 * What hedged reads buy and cost: the storage source (its declared policy, SigV4 and all)
 * lists objects in the S3 sandbox, where every call takes `--latency` ms and a `--slow-share`
 * of them (spread evenly) `--slow-ms`. The same calls run with the source's hedging off, then
 * on; per run: p50/p95/p99/max of a call, the calls the sandbox received and the extra ones.
 *
 *   npm run bench:hedging -- [--calls 2000] [--concurrency 8] [--latency 20] [--slow-ms 1000] [--slow-share 5]
 */
import { createLogger } from '../kit/process/logger.js';
import { createRegistry } from '../kit/process/metrics.js';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/process/cli.js';
import { createSubgraphResources, type SubgraphResources } from '../kit/source/resources.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { createS3Api } from '../subgraphs/storage/s3.js';
import { PROVIDERS, sandboxPortVariable } from '../subgraphs/registry.js';
import { percentile } from './harness.js';

const usage = 'Usage: npm run bench:hedging -- [--calls 2000] [--concurrency 8] [--latency 20] [--slow-ms 1000] [--slow-share 5]';
const { values } = parseCommandLine(
  {
    options: {
      calls: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '8' },
      latency: { type: 'string', default: '20' },
      'slow-ms': { type: 'string', default: '1000' },
      'slow-share': { type: 'string', default: '5' },
    },
  },
  usage,
);
const calls = wholeNumber('calls', values.calls, 100, 100_000);
const concurrency = wholeNumber('concurrency', values.concurrency, 1, 64);
const latencyMs = wholeNumber('latency', values.latency, 0, 10_000);
const slowMs = wholeNumber('slow-ms', values['slow-ms'], 1, 4000);
const slowShare = wholeNumber('slow-share', values['slow-share'], 0, 100) / 100;
/** Calls before the measured ones: the hedge times the source's latency first. */
const WARMUP = 100;

async function run(sandbox: Sandbox, hedged: boolean) {
  const resources = createSubgraphResources(createLogger('bench', 'silent'), createRegistry('bench'));
  // The storage source as declared, or with its hedge left out.
  const given: SubgraphResources = hedged
    ? resources
    : { ...resources, source: (options) => resources.source({ ...options, hedge: undefined }) };
  const api = createS3Api(StorageConfig.parse({ ...sandbox.env(), LOG_LEVEL: 'silent' }), given);
  const list = (n: number) => api.listObjects({ prefix: `bench/${hedged ? 'on' : 'off'}/${n}/`, maxKeys: 10 });
  sandbox.faults('s3', [
    ...(slowShare > 0 ? [{ operation: 'ListObjectsV2', latencyMs: slowMs, rate: slowShare }] : []),
    ...(latencyMs > 0 ? [{ operation: 'ListObjectsV2', latencyMs }] : []),
  ]);
  for (let i = 0; i < WARMUP; i += concurrency) await Promise.all(Array.from({ length: concurrency }, (_, j) => list(-1 - i - j)));
  sandbox.resetCalls();
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const n = next++;
        const startedAt = performance.now();
        await list(n);
        times.push(performance.now() - startedAt);
      }
    }),
  );
  const received = sandbox.calls().s3.ListObjectsV2 ?? 0;
  await resources.close();
  times.sort((a, b) => a - b);
  return { times, received };
}

await runCommand('bench:hedging', async () => {
  const sandbox = await startSandbox({
    ...Object.fromEntries(PROVIDERS.map((provider) => [sandboxPortVariable(provider.name), '0'])),
    LOG_LEVEL: 'silent',
    SANDBOX_USERS: '50',
  });
  try {
    console.log(
      `${calls} listings, ${concurrency} at once; every call ${latencyMs} ms, ${slowShare * 100} % of them ${slowMs} ms (S3 sandbox)\n`,
    );
    console.log('| hedging | p50 ms | p95 ms | p99 ms | max ms | calls received | extra calls |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const hedged of [false, true]) {
      const { times, received } = await run(sandbox, hedged);
      const cells = [50, 95, 99, 100].map((p) => percentile(times, p).toFixed(0));
      const extra = received - calls;
      console.log(`| ${hedged ? 'on' : 'off'} | ${cells.join(' | ')} | ${received} | ${extra} (${((extra / calls) * 100).toFixed(1)} %) |`);
    }
  } finally {
    await sandbox.close();
  }
});
