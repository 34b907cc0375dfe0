/**
 * `npm run release:retire -- <client> <version> (--prometheus <url> | --snapshot <file>) [--window 7d] [--retirable-below 1] [--force --reason "..."]`:
 * retires a release and every older one by raising the client's minimum version
 * (clients/<client>/releases/releases.json) to the next release. Refused while the release
 * still carries more than `--retirable-below` percent of the client's requests, or when it is
 * the newest; `--force` overrides the traffic check and needs a reason, which is committed
 * with the minimum.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { CLIENTS, clientByName } from '../gateway/clients/index.js';
import { POLICY_FILE, readReleasePolicy, releasesDir, type ReleasePolicy } from '../gateway/releases.js';
import { parseCommandLine, runCommand, usageError } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';
import { TRAFFIC_OPTIONS, releaseReport, requestsOf } from './releases.js';
import { writeDerived } from './derive.js';

const usage = `Usage: npm run release:retire -- <client> <version> (--prometheus <url> | --snapshot <file>) [--window 7d] [--retirable-below 1] [--force --reason "..."]   (client: ${CLIENTS.map((c) => c.name).join(', ')})`;

/** Raises the minimum in `dir` past `version`, or says why not. */
export function retire(
  dir: string,
  version: string,
  requests: Map<string, number>,
  options: { retirableBelow: number; force?: { reason: string } },
): { minimumVersion: string } {
  const report = releaseReport(dir, requests, options.retirableBelow);
  const release = report.find((r) => r.version === version);
  if (!release) throw new Error(`${version} is no release here (${report.map((r) => r.version).join(', ') || 'none'})`);
  if (!release.supported) throw new Error(`${version} is retired already`);
  const next = report.find((r) => semver.gt(r.version, version));
  if (!next) throw new Error(`${version} is the newest release: the apps would have nothing left to run`);
  if (!release.retirable && !options.force)
    throw new Error(
      `${version} still carries ${release.share.toFixed(2)} % of the requests (retirable below ${options.retirableBelow} %): wait, or --force --reason "..."`,
    );
  const policy = readReleasePolicy(dir);
  const forced = [
    ...(policy.forced ?? []),
    ...(options.force && !release.retirable ? [{ version, reason: options.force.reason, share: Number(release.share.toFixed(2)) }] : []),
  ];
  const updated: ReleasePolicy = { ...policy, minimumVersion: next.version, ...(forced.length ? { forced } : {}) };
  writeFileSync(join(dir, POLICY_FILE), `${JSON.stringify(updated, null, 2)}\n`);
  return { minimumVersion: next.version };
}

if (isMainModule(import.meta.url)) {
  await runCommand('release:retire', async () => {
    const { values, positionals } = parseCommandLine(
      {
        allowPositionals: true,
        options: {
          ...TRAFFIC_OPTIONS,
          force: { type: 'boolean', default: false },
          reason: { type: 'string' },
        },
      },
      usage,
    );
    const [name, version, ...rest] = positionals;
    if (!name || !version || rest.length) usageError(usage);
    const client = clientByName(name);
    if (!client) usageError(`"${name}" is no client\n${usage}`);
    if (values.force && !(values.reason && values.reason.trim().length >= 10))
      usageError(`--force needs --reason "..." (10 characters at least): it is committed\n${usage}`);
    const requests = await requestsOf(values, client.name, usage);
    const below = Number(values['retirable-below']);
    try {
      const { minimumVersion } = retire(releasesDir(client.name), version, requests, {
        retirableBelow: below,
        ...(values.force ? { force: { reason: values.reason!.trim() } } : {}),
      });
      writeDerived();
      process.stdout.write(
        `${client.name}: releases before ${minimumVersion} retired (clients/${client.name}/releases/${POLICY_FILE}, and deploy/kubernetes/base/releases/); commit them\n`,
      );
    } catch (error) {
      usageError((error as Error).message);
    }
  });
}
