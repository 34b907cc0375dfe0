/**
 * `npm run release -- <client> <version>`: freezes the client's current operations as the
 * release its apps ship as that version (clients/<client>/releases/<version>.json, Apollo's
 * manifest format; commit it). Its gateway serves every supported release's operations by id,
 * so the apps already in users' hands keep working when the operations move on.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { clientByName, CLIENTS, type ClientConfig } from '../gateway/clients/index.js';
import { releasesDir } from '../gateway/releases.js';
import { runCommand, usageError } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';
import { persistedManifest } from './persisted.js';
import { writeDerived } from './derive.js';

const usage = `Usage: npm run release -- <client> <version>   (client: ${CLIENTS.map((client) => client.name).join(', ')}; version like 1.4.0)`;

/** Writes the release file of `version` from the client's operations under `root`; refuses to overwrite one. */
export async function writeRelease(client: ClientConfig, version: string, root: URL, dir = releasesDir(client.name)): Promise<string> {
  const file = join(dir, `${version}.json`);
  if (existsSync(file)) throw new Error(`${client.name} ${version} is released already (${file}): a shipped release does not change`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${await persistedManifest(client, root)}\n`);
  return file;
}

if (isMainModule(import.meta.url)) {
  await runCommand('release', async () => {
    const [name, version, ...rest] = process.argv.slice(2);
    if (!name || !version || rest.length) usageError(usage);
    const client = clientByName(name);
    if (!client) usageError(`"${name}" is no client\n${usage}`);
    if (semver.valid(version) !== version) usageError(`"${version}" is not a version like 1.4.0\n${usage}`);
    const file = await writeRelease(client, version, new URL('..', import.meta.url)).catch((error: Error) => usageError(error.message));
    writeDerived();
    process.stdout.write(
      `${client.name} ${version}: its operations frozen in ${file.slice(file.indexOf('clients/'))} (and deploy/kubernetes/base/releases/); commit them\n`,
    );
  });
}
