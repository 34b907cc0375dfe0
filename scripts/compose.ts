import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { GraphQLSchema, Kind, extendSchema, parse, printSchema, type DirectiveDefinitionNode, type GraphQLError } from 'graphql';
import { CLIENTS, SCHEMA_DIR, SUPERGRAPH_FILE, apiSchemaFile, clientSupergraphFile } from '../gateway/clients/index.js';
import { applyContract, type SubgraphSdl } from '../gateway/contract.js';
import { INCREMENTAL_DELIVERY_DIRECTIVES } from '../gateway/directives.js';
import { localUrl } from '../kit/process/local-defaults.js';
import { isMainModule } from '../kit/process/service.js';
import { SUBGRAPHS } from '../subgraphs/index.js';

export { SUPERGRAPH_FILE, apiSchemaFile, clientSupergraphFile };

/**
 * The directives the subgraphs compose (`@composeDirective`: `@cacheControl`) stay in the
 * supergraph, and the gateway's introspection shows them: so does the committed API schema.
 */
function withComposedDirectives(api: GraphQLSchema, supergraphSdl: string): GraphQLSchema {
  const document = parse(supergraphSdl);
  const composed = new Set(
    [...supergraphSdl.matchAll(/@link\(url: "(?!https:\/\/specs\.apollo\.dev\/)[^"]+"[^)]*?import: \[([^\]]*)\]/g)].flatMap((match) =>
      [...match[1]!.matchAll(/"@(\w+)"/g)].map((name) => name[1]!),
    ),
  );
  const definitions = document.definitions.filter(
    (definition): definition is DirectiveDefinitionNode =>
      definition.kind === Kind.DIRECTIVE_DEFINITION && composed.has(definition.name.value),
  );
  return definitions.length ? extendSchema(api, { kind: Kind.DOCUMENT, definitions }) : api;
}

export interface CompositionFailure {
  ok: false;
  /** Which composition failed: the whole graph, or a client's contract of it. */
  target: string;
  errors: Array<{ code: string; message: string }>;
}
export interface CompositionSuccess {
  ok: true;
  supergraph: string;
  /** Each client's supergraph (its contract applied), by client name. */
  clientSupergraphs: Record<string, string>;
  /** The API schema each client is served, by client name. */
  apiSchemas: Record<string, string>;
  hints: string[];
}

/** The repository; tools take another root to check a copy of it. */
export const REPO_ROOT = new URL('../', import.meta.url);

/** Every subgraph's SDL as it is in `root`. */
export function readSubgraphs(root: URL): SubgraphSdl[] {
  return SUBGRAPHS.map((s) => ({
    name: s.name,
    typeDefs: parse(readFileSync(new URL(`subgraphs/${s.name}/schema.graphql`, root), 'utf8')),
  }));
}

function compose(subgraphs: readonly SubgraphSdl[]) {
  return composeServices(
    subgraphs.map((s) => ({ ...s, url: `${localUrl(SUBGRAPHS.find((d) => d.name === s.name)!.defaultPort)}/graphql` })),
  );
}

/**
 * Composes every subgraph's SDL offline, as the gateway will see it, with each subgraph's
 * local URL (gateways override URLs by configuration, not by recomposing); then, for each
 * client with a contract, the same subgraphs with what the contract hides made @inaccessible.
 */
export function composeAll(root: URL = REPO_ROOT): CompositionSuccess | CompositionFailure {
  const subgraphs = readSubgraphs(root);
  const failure = (target: string, errors: readonly GraphQLError[]): CompositionFailure => ({
    ok: false,
    target,
    errors: errors.map((e) => ({ code: String(e.extensions.code ?? 'COMPOSITION_ERROR'), message: e.message })),
  });
  const whole = compose(subgraphs);
  if (whole.errors) return failure('supergraph', whole.errors);

  const clientSupergraphs: Record<string, string> = {};
  const apiSchemas: Record<string, string> = {};
  for (const client of CLIENTS) {
    const result = client.contract ? compose(applyContract(subgraphs, client.contract)) : whole;
    if (result.errors) return failure(`${client.name} contract`, result.errors);
    clientSupergraphs[client.name] = result.supergraphSdl;
    const api = withComposedDirectives(result.schema.toAPISchema().toGraphQLJSSchema(), result.supergraphSdl);
    // A client that gets incremental delivery sees @defer and @stream in its schema.
    const served = client.defer
      ? new GraphQLSchema({ ...api.toConfig(), directives: [...api.getDirectives(), ...INCREMENTAL_DELIVERY_DIRECTIVES] })
      : api;
    apiSchemas[client.name] = `${printSchema(served)}\n`;
  }
  return { ok: true, supergraph: whole.supergraphSdl, clientSupergraphs, apiSchemas, hints: whole.hints.map((h) => h.toString()) };
}

/** The supergraphs Kubernetes serves from a ConfigMap (deploy/kubernetes/base), kept equal to schema/'s. */
export const DEPLOYED_SUPERGRAPHS_DIR = new URL('../deploy/kubernetes/base/supergraphs/', import.meta.url);

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
    process.stderr.write(`composition of the ${result.target} failed:\n`);
    for (const e of result.errors) process.stderr.write(`  ${e.code}: ${e.message}\n`);
    process.exit(1);
  }
  mkdirSync(SCHEMA_DIR, { recursive: true });
  writeFileSync(SUPERGRAPH_FILE, result.supergraph);
  for (const client of CLIENTS) {
    if (client.contract) writeFileSync(clientSupergraphFile(client), result.clientSupergraphs[client.name]!);
    writeFileSync(apiSchemaFile(client.name), result.apiSchemas[client.name]!);
  }
  mkdirSync(DEPLOYED_SUPERGRAPHS_DIR, { recursive: true });
  for (const client of CLIENTS) {
    const file = clientSupergraphFile(client);
    writeFileSync(new URL(basename(fileURLToPath(file)), DEPLOYED_SUPERGRAPHS_DIR), readFileSync(file, 'utf8'));
  }
  for (const hint of result.hints) process.stdout.write(`hint: ${hint}\n`);
  process.stdout.write(`composed ${SUBGRAPHS.length} subgraphs into schema/supergraph.graphql and ${CLIENTS.length} client schemas\n`);
}
