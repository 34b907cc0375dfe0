import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse, printSchema } from 'graphql';
import { CLIENTS } from '../gateway/clients/index.js';
import { localUrl } from '../kit/local-defaults.js';
import { isMainModule } from '../kit/service.js';
import { readSchema } from '../kit/subgraph.js';
import { SUBGRAPHS } from '../subgraphs/index.js';

export const SCHEMA_DIR = new URL('../schema/', import.meta.url);
export const SUPERGRAPH_FILE = new URL('supergraph.graphql', SCHEMA_DIR);
export const apiSchemaFile = (client: string) => new URL(`${client}.graphql`, SCHEMA_DIR);

export interface CompositionFailure {
  ok: false;
  errors: Array<{ code: string; message: string }>;
}
export interface CompositionSuccess {
  ok: true;
  supergraph: string;
  /** The API schema each client is served, by client name. */
  apiSchemas: Record<string, string>;
  hints: string[];
}

/**
 * Composes every subgraph's SDL offline, as the gateway will see it, with each subgraph's
 * local URL (gateways override URLs by configuration, not by recomposing).
 */
export function composeAll(): CompositionSuccess | CompositionFailure {
  const result = composeServices(
    SUBGRAPHS.map((s) => ({
      name: s.name,
      typeDefs: parse(readSchema(s.schemaFile)),
      url: `${localUrl(s.defaultPort)}/graphql`,
    })),
  );
  if (result.errors) {
    return {
      ok: false,
      errors: result.errors.map((e) => ({ code: String(e.extensions.code ?? 'COMPOSITION_ERROR'), message: e.message })),
    };
  }
  const api = printSchema(result.schema.toAPISchema().toGraphQLJSSchema());
  return {
    ok: true,
    supergraph: result.supergraphSdl,
    apiSchemas: Object.fromEntries(CLIENTS.map((c) => [c.name, `${api}\n`])),
    hints: result.hints.map((h) => h.toString()),
  };
}

export function readCommitted(file: URL): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

if (isMainModule(import.meta.url)) {
  const result = composeAll();
  if (!result.ok) {
    for (const e of result.errors) process.stderr.write(`${e.code}: ${e.message}\n`);
    process.exit(1);
  }
  mkdirSync(SCHEMA_DIR, { recursive: true });
  writeFileSync(SUPERGRAPH_FILE, result.supergraph);
  for (const [client, sdl] of Object.entries(result.apiSchemas)) writeFileSync(apiSchemaFile(client), sdl);
  for (const hint of result.hints) process.stdout.write(`hint: ${hint}\n`);
  process.stdout.write(`composed ${SUBGRAPHS.length} subgraphs into schema/supergraph.graphql and ${Object.keys(result.apiSchemas).length} client API schemas\n`);
}
