import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { persistedQueryHash } from '../manifest.js';
import { requestError } from '../errors.js';

const ID_REQUIRED = 'This endpoint runs persisted operations only: send extensions.persistedQuery.sha256Hash';

/**
 * Safelisting: only the operations of the client's manifest run, named by id (the APQ
 * extension Apollo's clients send). The manifest's text runs for an id, whatever text came
 * along; a raw query or an id the manifest lacks is refused before parsing, and nothing is
 * registered at run time. Yoga's persisted-operations plugin does the work; the first plugin
 * drops text sent with an id, so that the id alone decides.
 */
export function useSafelist(operations: ReadonlyMap<string, string>): GatewayPlugin[] {
  return [
    {
      onParams({ params, setParams }) {
        if (params.query && persistedQueryHash(params.extensions)) setParams({ ...params, query: undefined });
      },
    },
    usePersistedOperations({
      getPersistedOperation: (id) => operations.get(id) ?? null,
      allowArbitraryOperations: false,
      customErrors: {
        persistedQueryOnly: () => requestError(ID_REQUIRED, 'PERSISTED_QUERY_ID_REQUIRED'),
        keyNotFound: () => requestError(ID_REQUIRED, 'PERSISTED_QUERY_ID_REQUIRED'),
        notFound: ({ params }) =>
          requestError(
            `No persisted operation has the id ${String(persistedQueryHash(params.extensions)).slice(0, 64)}`,
            'PERSISTED_QUERY_NOT_IN_LIST',
          ),
      },
    }) as GatewayPlugin, // a Yoga plugin: its server-adapter hooks are typed for Yoga's context, not the gateway's
  ];
}
