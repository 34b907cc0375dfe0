/**
 * What the client list determines is what `npm run derive` writes from it: the README's
 * table of client settings, `.env.example`'s client blocks, each gateway's Kubernetes
 * manifest and the kustomization's lists, the copies of each client's releases that Kubernetes
 * mounts, docker-compose.yml's gateways.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { DERIVED, staleDerivedFiles } from '../scripts/derive.js';
import { REPO } from '../scripts/programs.js';

test.each(DERIVED.map(({ file, derive }) => [file, derive] as const))('%s is what npm run derive writes', (file, derive) => {
  const path = join(REPO, file);
  const committed = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  expect(committed).toBe(derive(committed));
});

test('nothing derived is left of a client or a release that is gone', () => {
  expect(staleDerivedFiles()).toEqual([]);
});
