import { mobile } from './mobile.js';
import type { ClientConfig } from './types.js';
import { web } from './web.js';

export type { ClientConfig } from './types.js';
export const CLIENTS: readonly ClientConfig[] = [web, mobile];

export function clientByName(name: string): ClientConfig | undefined {
  return CLIENTS.find((c) => c.name === name);
}

/** A safelisted client's persisted query manifest (`npm run persisted` writes it from clients/<name>/*.graphql). */
export const persistedManifestFile = (client: ClientConfig) =>
  new URL(`../../clients/${client.name}/persisted-query-manifest.json`, import.meta.url);

/** Generated, committed schema files (`npm run compose`). */
export const SCHEMA_DIR = new URL('../../schema/', import.meta.url);
/** The whole graph: every subgraph, no contract. */
export const SUPERGRAPH_FILE = new URL('supergraph.graphql', SCHEMA_DIR);
/** The API schema a client is served: what its introspection shows. */
export const apiSchemaFile = (client: string) => new URL(`${client}.graphql`, SCHEMA_DIR);
/** The supergraph a client's gateway loads: the whole one, or the client's contract of it. */
export const clientSupergraphFile = (client: ClientConfig) =>
  client.contract ? new URL(`${client.name}.supergraph.graphql`, SCHEMA_DIR) : SUPERGRAPH_FILE;
