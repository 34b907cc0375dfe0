/**
 * `npm run persisted`: the persisted query manifest of every safelisted client, from its
 * operations (clients/<client>/*.graphql), written where its file in gateway/clients/ says.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatePersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';
import { CLIENTS, persistedManifestFile, type ClientConfig } from '../gateway/clients/index.js';
import { runCommand } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';

/** A safelisted client's manifest as its operations make it now, in the file's own text. */
export async function persistedManifest(client: ClientConfig, root: URL): Promise<string> {
  const documents = fileURLToPath(new URL(`clients/${client.name}/*.graphql`, root));
  return JSON.stringify(await generatePersistedQueryManifest({ documents: [documents] }, undefined), null, 2);
}

if (isMainModule(import.meta.url)) {
  await runCommand('persisted', async () => {
    const root = new URL('..', import.meta.url);
    for (const client of CLIENTS.filter((candidate) => candidate.safelist))
      writeFileSync(persistedManifestFile(client), await persistedManifest(client, root));
  });
}
