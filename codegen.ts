/**
 * graphql-codegen: typed resolvers for each subgraph of the registry (from its own SDL, with
 * the mappers its entry declares) and typed documents for each client (from that client's API
 * schema, which `npm run compose` writes). Output is committed.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';
import { CLIENTS } from './gateway/clients/index.js';
import { REGISTRY, SUBGRAPH_NAMES, type SubgraphEntry } from './subgraphs/registry.js';

const resolvers = {
  federation: true,
  contextType: '../loaders.js#Context',
  useIndexSignature: true,
};

const config: CodegenConfig = {
  overwrite: true,
  config: { scalars: { DateTime: 'string', Date: 'string' }, enumsAsTypes: true, useTypeImports: true },
  generates: {
    ...Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => {
        const entry: SubgraphEntry = REGISTRY[name];
        const mappers = entry.mappers ?? {};
        return [
          `subgraphs/${name}/__generated__/resolvers-types.ts`,
          {
            schema: `subgraphs/${name}/schema.graphql`,
            plugins: ['typescript', 'typescript-resolvers'],
            config: {
              ...resolvers,
              ...(Object.keys(mappers).length
                ? { mappers: Object.fromEntries(Object.entries(mappers).map(([type, to]) => [type, `../loaders.js#${to}`])) }
                : {}),
            },
          },
        ];
      }),
    ),
    ...Object.fromEntries(
      CLIENTS.map(({ name: client }) => [
        `clients/${client}/__generated__/operations.ts`,
        {
          schema: `schema/${client}.graphql`,
          documents: `clients/${client}/*.graphql`,
          plugins: ['typescript-operations', 'typed-document-node'],
        },
      ]),
    ),
  },
};

export default config;
