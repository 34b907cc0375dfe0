import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { operationMemo } from '../operation-memo.js';
import { cacheControlHeader, cacheHints, cachePolicy, type CacheHints, type CachePolicy } from '../cache-control.js';

const NOT_CACHEABLE: CachePolicy = { maxAge: 0, scope: 'PRIVATE' };

/**
 * `Cache-Control` on every answer, from the `@cacheControl` hints of the subgraphs (composed
 * into the supergraph): the shortest max age of the fields an operation selects, `private` if
 * any of them is. An answer with an error or a stale field, a mutation, a subscription, or
 * anything but an executed operation is `no-store`.
 */
export function useCacheControl(supergraph: () => DocumentNode): GatewayPlugin {
  const hintsBySupergraph = new WeakMap<DocumentNode, CacheHints>();
  const hints = () => {
    const document = supergraph();
    let known = hintsBySupergraph.get(document);
    if (!known) hintsBySupergraph.set(document, (known = cacheHints(document)));
    return known;
  };
  // Worked out once per document (the engine keeps parsed documents) and schema.
  const known = operationMemo<CachePolicy>();
  const policyOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) => {
    let policy = known.get(schema, document, operationName);
    if (!policy) known.set(schema, document, operationName, (policy = cachePolicy(schema, document, operationName, hints())));
    return policy;
  };
  const policies = new WeakMap<Request, CachePolicy>();
  return {
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request) return;
      policies.set(request, policyOf(args.schema, args.document, args.operationName));
      return {
        onExecuteDone({ result }) {
          // An incremental answer's later parts are not seen here: never kept. Nor is a stale one.
          if (Symbol.asyncIterator in result || result.errors?.length || result.extensions?.stale) policies.set(request, NOT_CACHEABLE);
        },
      };
    },
    onResponse({ request, response }) {
      if (response.headers.has('cache-control')) return;
      response.headers.set('cache-control', cacheControlHeader(policies.get(request) ?? NOT_CACHEABLE));
    },
  };
}
