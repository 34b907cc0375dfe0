import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { propertyOf, stringPropertyOf } from '../kit/process/caught.js';

/** Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`). */
export const Manifest = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(
    z.object({
      id: z.string().regex(/^[0-9a-f]{64}$/),
      name: z.string(),
      type: z.enum(['query', 'mutation', 'subscription']),
      body: z.string(),
    }),
  ),
});

const parseManifest = (file: URL) => Manifest.parse(JSON.parse(readFileSync(file, 'utf8')));

/** Operation bodies by id (what a safelisted gateway runs), and their names. */
export function readManifest(file: URL): { bodies: Map<string, string>; names: string[]; ids: Map<string, string> } {
  const { operations } = parseManifest(file);
  return {
    bodies: new Map(operations.map((op) => [op.id, op.body])),
    names: operations.map((op) => op.name),
    ids: new Map(operations.map((op) => [op.id, op.name])),
  };
}

/** The request extension that names a manifest's operation by id, as the apps send it. */
export function persistedQueryExtension(file: URL, operationName: string) {
  const operation = parseManifest(file).operations.find((op) => op.name === operationName);
  if (!operation) throw new Error(`${operationName} is not in the persisted query manifest: run npm run persisted`);
  return { persistedQuery: { version: 1, sha256Hash: operation.id } };
}

/** The id a request names a persisted operation by: Apollo's `extensions.persistedQuery`. */
export function persistedQueryHash(extensions: Record<string, unknown> | undefined): string | undefined {
  const persisted = extensions?.persistedQuery;
  return propertyOf(persisted, 'version') === 1 ? stringPropertyOf(persisted, 'sha256Hash') : undefined;
}
