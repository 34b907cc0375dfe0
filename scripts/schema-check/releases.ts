import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { CLIENTS } from '../../gateway/clients/index.js';
import { Manifest } from '../../gateway/manifest.js';
import { readReleases } from '../../gateway/releases.js';
import type { ParsedOperation } from './breaking.js';

/**
 * The operations of every supported release (clients/<client>/releases/ under `root`) that are
 * not among the client's current ones: what apps in users' hands still send, checked like the
 * current operations, so a change that breaks last month's app fails naming its release.
 */
export function releasedOperations(root: URL): ParsedOperation[] {
  return CLIENTS.flatMap((client) => {
    const releases = readReleases(fileURLToPath(new URL(`clients/${client.name}/releases/`, root)));
    const manifestFile = new URL(`clients/${client.name}/persisted-query-manifest.json`, root);
    const current = new Set(
      existsSync(manifestFile) ? Manifest.parse(JSON.parse(readFileSync(manifestFile, 'utf8'))).operations.map((op) => op.id) : [],
    );
    return [...releases.bodies]
      .filter(([id]) => !current.has(id))
      .map(([id, body]) => ({
        client: client.name,
        name: releases.names.get(id)!,
        // The newest supported release that holds it: retiring up to it ends its use.
        release: [...releases.releasesOf.get(id)!].at(-1)!,
        document: parse(body),
      }));
  });
}
