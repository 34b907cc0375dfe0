/**
 * `npm run releases -- <client> [--prometheus <url> | --snapshot <file>] [--window 7d] [--retirable-below 1]`:
 * each release of a client with what its apps still send (`patchbay_gateway_app_version_requests_total`,
 * from Prometheus over the window, or summed from a /metrics snapshot) and whether it may be
 * retired: supported, not the newest, and under the share of requests given (percent).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import semver from 'semver';
import { z } from 'zod';
import { CLIENTS, clientByName } from '../gateway/clients/index.js';
import { readReleasePolicy, readReleases, releasesDir } from '../gateway/releases.js';
import { parseCommandLine, runCommand, usageError } from '../kit/process/cli.js';
import { createLogger } from '../kit/process/logger.js';
import { isMainModule } from '../kit/process/service.js';
import { createSource } from '../kit/source/index.js';

const METRIC = 'patchbay_gateway_app_version_requests_total';
const usage = `Usage: npm run releases -- <client> [--prometheus <url> | --snapshot <file>] [--window 7d] [--retirable-below 1]   (client: ${CLIENTS.map((c) => c.name).join(', ')})`;

/** Requests by app version label, summed over operations, from Prometheus' text exposition (one or more /metrics dumps). */
export function requestsFromSnapshot(text: string, client: string): Map<string, number> {
  const byVersion = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${METRIC}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    if (labels.client !== client || labels.app_version === undefined) continue;
    byVersion.set(labels.app_version, (byVersion.get(labels.app_version) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return byVersion;
}

const PrometheusVector = z.object({
  status: z.literal('success'),
  data: z.object({ result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })) }),
});

/** Requests by app version over the window, asked of Prometheus' query API through the source layer. */
async function requestsFromPrometheus(url: string, client: string, window: string): Promise<Map<string, number>> {
  const base = new URL(url);
  const source = createSource({
    name: 'releases.prometheus',
    baseUrl: base.origin,
    timeoutMs: 10_000,
    retry: { attempts: 2, on: [502, 503, 504] },
    logger: createLogger('releases', 'warn'),
  });
  try {
    const query = `sum by (app_version) (increase(${METRIC}{client="${client}"}[${window}]))`;
    const response = await source.request({
      operation: 'query',
      path: `${base.pathname.replace(/\/$/, '')}/api/v1/query`,
      query: { query },
    });
    const vector = response.json(PrometheusVector);
    return new Map(vector.data.result.map((sample) => [sample.metric.app_version ?? 'none', Number(sample.value[1])]));
  } finally {
    await source.close();
  }
}

/** The command-line options that say where release traffic comes from, and what share makes a release retirable. */
export const TRAFFIC_OPTIONS = {
  prometheus: { type: 'string' },
  snapshot: { type: 'string' },
  window: { type: 'string', default: '7d' },
  'retirable-below': { type: 'string', default: '1' },
} as const;

/** The requests by app version the command line asks for: `--snapshot <file>` or `--prometheus <url>` over `--window`; checks `--retirable-below`. */
export async function requestsOf(
  values: { prometheus?: string; snapshot?: string; window: string; 'retirable-below': string },
  client: string,
  usage: string,
): Promise<Map<string, number>> {
  if (!values.prometheus === !values.snapshot) usageError(`give --prometheus <url> or --snapshot <file>, one of them\n${usage}`);
  if (!/^\d+[smhdw]$/.test(values.window)) usageError(`--window: a Prometheus duration like 7d\n${usage}`);
  const below = Number(values['retirable-below']);
  if (!(below >= 0 && below <= 100)) usageError(`--retirable-below: a percentage, 0 to 100\n${usage}`);
  return values.snapshot
    ? requestsFromSnapshot(readFileSync(values.snapshot, 'utf8'), client)
    : await requestsFromPrometheus(values.prometheus!, client, values.window);
}

export interface ReleaseReport {
  version: string;
  supported: boolean;
  requests: number;
  /** Percent of the client's requests in the window. */
  share: number;
  retirable: boolean;
}

/** Every committed release of a client, oldest first, with its traffic and whether it may be retired. */
export function releaseReport(dir: string, requests: Map<string, number>, retirableBelow: number): ReleaseReport[] {
  const { minimumVersion } = readReleasePolicy(dir);
  const supported = new Set(readReleases(dir).versions);
  const all = existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.json') && semver.valid(file.slice(0, -5)))
        .map((file) => file.slice(0, -5))
        .sort(semver.compare)
    : [];
  const total = [...requests.values()].reduce((sum, n) => sum + n, 0);
  const newest = all.at(-1);
  return all.map((version) => {
    const count = requests.get(version) ?? 0;
    const share = total ? (100 * count) / total : 0;
    const isSupported = supported.has(version) && (!minimumVersion || semver.gte(version, minimumVersion));
    return {
      version,
      supported: isSupported,
      requests: count,
      share,
      retirable: isSupported && version !== newest && share < retirableBelow,
    };
  });
}

if (isMainModule(import.meta.url)) {
  await runCommand('releases', async () => {
    const { values, positionals } = parseCommandLine(
      {
        allowPositionals: true,
        options: TRAFFIC_OPTIONS,
      },
      usage,
    );
    const [name, ...rest] = positionals;
    if (!name || rest.length) usageError(usage);
    const client = clientByName(name);
    if (!client) usageError(`"${name}" is no client\n${usage}`);
    const requests = await requestsOf(values, client.name, usage);
    const below = Number(values['retirable-below']);
    const report = releaseReport(releasesDir(client.name), requests, below);
    const lines = report.map(
      (r) =>
        `${r.version.padEnd(10)} ${(r.supported ? 'supported' : 'retired').padEnd(10)} ${String(Math.round(r.requests)).padStart(9)} ${r.share.toFixed(2).padStart(6)} %  ${r.retirable ? 'retirable' : ''}`,
    );
    const others = ['other', 'none'].filter((label) => requests.has(label)).map((label) => `${label}: ${Math.round(requests.get(label)!)}`);
    process.stdout.write(
      [
        `${client.name} releases (requests ${values.snapshot ? 'in the snapshot' : `over ${values.window}`}):`,
        ...lines,
        ...(others.length ? [`not a release: ${others.join(', ')}`] : []),
        '',
      ].join('\n'),
    );
  });
}
