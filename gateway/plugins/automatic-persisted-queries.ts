import { createHash } from 'node:crypto';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { persistedQueryHash } from '../manifest.js';
import type { PersistedQueryStore, RegistrationOutcome } from '../persisted-query-store.js';
import { verifiedIdentity, type ClientAuthContext } from './client-auth.js';
import { requestError } from '../errors.js';

/**
 * Automatic persisted queries (Apollo's protocol): a hash the gateway knows runs its query;
 * an unknown one answers PERSISTED_QUERY_NOT_FOUND (404), and the client sends hash and
 * text, which is registered for that caller once it parses and validates (nothing invalid is
 * kept, and the store's byte quotas hold). A text whose hash is not the one named is refused
 * with PERSISTED_QUERY_HASH_MISMATCH (400).
 */
export function useAutomaticPersistedQueries(
  store: PersistedQueryStore,
  onRegistration: (outcome: RegistrationOutcome) => void = () => {},
): GatewayPlugin<ClientAuthContext> {
  const toRegister = new WeakMap<Request, { hash: string; query: string }>();
  return {
    async onParams({ params, setParams, request }) {
      const hash = persistedQueryHash(params.extensions);
      if (hash === undefined) return;
      if (!params.query) {
        const query = await store.get(hash);
        if (query === undefined) throw requestError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND', {}, 404);
        setParams({ ...params, query });
        return;
      }
      if (createHash('sha256').update(params.query).digest('hex') !== hash) {
        throw requestError('The query does not have the sha256Hash its persistedQuery extension names', 'PERSISTED_QUERY_HASH_MISMATCH');
      }
      toRegister.set(request, { hash, query: params.query });
    },
    onValidate({ context }) {
      const registration = toRegister.get(context.request);
      const caller = verifiedIdentity(context.request)?.userId;
      if (!registration || caller === undefined) return;
      return ({ valid }) => {
        // The store reports its own failures: a registration that is not kept is not the client's error.
        if (valid) void Promise.resolve(store.register(registration.hash, registration.query, caller)).then(onRegistration);
      };
    },
  };
}
