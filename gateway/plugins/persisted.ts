import { createHash } from 'node:crypto';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../kit/logger.js';
import type { RedisConnection } from '../../kit/redis.js';
import { messageOf, propertyOf, stringPropertyOf } from '../../kit/thrown.js';

/** The id a request names a persisted operation by: Apollo's `extensions.persistedQuery`. */
function persistedQueryHash(extensions: Record<string, unknown> | undefined): string | undefined {
  const persisted = extensions?.persistedQuery;
  return propertyOf(persisted, 'version') === 1 ? stringPropertyOf(persisted, 'sha256Hash') : undefined;
}

const requestError = (message: string, code: string, status: number) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

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
        persistedQueryOnly: () =>
          requestError(
            'This endpoint runs persisted operations only: send extensions.persistedQuery.sha256Hash',
            'PERSISTED_QUERY_ID_REQUIRED',
            400,
          ),
        keyNotFound: () =>
          requestError(
            'This endpoint runs persisted operations only: send extensions.persistedQuery.sha256Hash',
            'PERSISTED_QUERY_ID_REQUIRED',
            400,
          ),
        notFound: ({ params }) =>
          requestError(
            `No persisted operation has the id ${String(persistedQueryHash(params.extensions)).slice(0, 64)}`,
            'PERSISTED_QUERY_NOT_IN_LIST',
            400,
          ),
      },
    }) as GatewayPlugin, // a Yoga plugin: its server-adapter hooks are typed for Yoga's context, not the gateway's
  ];
}

/** Where APQ registrations live: this process, or Redis, where every replica sees them. */
export interface PersistedQueryStore {
  get(hash: string): Promise<string | undefined> | string | undefined;
  set(hash: string, query: string): Promise<void> | void;
}

const MEMORY_STORE_SIZE = 10_000;

export function memoryPersistedQueryStore(max = MEMORY_STORE_SIZE): PersistedQueryStore {
  const queries = new LRUCache<string, string>({ max });
  return { get: (hash) => queries.get(hash), set: (hash, query) => void queries.set(hash, query) };
}

/** How long a registration is kept in Redis after it was last registered or used. */
const APQ_TTL_SECONDS = 7 * 86_400;

/**
 * APQ registrations in Redis, per client, so that a hash registered through one replica runs
 * on every other; a hash names one text forever, so what a replica has read stays in its own
 * memory. While Redis cannot be reached a hash is answered not found (the client then sends the
 * text, which runs), and a registration that cannot be written is dropped: APQ is a cache.
 */
export function redisPersistedQueryStore(redis: RedisConnection, client: string, logger: Logger): PersistedQueryStore {
  const local = new LRUCache<string, string>({ max: MEMORY_STORE_SIZE });
  const key = (hash: string) => `patchbay:apq:${client}:${hash}`;
  return {
    async get(hash) {
      const known = local.get(hash);
      if (known !== undefined) return known;
      try {
        const query = await redis.run((r) => r.getex(key(hash), 'EX', APQ_TTL_SECONDS));
        if (query !== null) local.set(hash, query);
        return query ?? undefined;
      } catch (error) {
        logger.warn({ err: messageOf(error) }, 'APQ store unavailable: answering not found');
        return undefined;
      }
    },
    async set(hash, query) {
      local.set(hash, query);
      await redis
        .run((r) => r.set(key(hash), query, 'EX', APQ_TTL_SECONDS))
        .catch((error: unknown) => {
          logger.warn({ err: messageOf(error) }, 'APQ registration not shared: Redis unavailable');
        });
    },
  };
}

/**
 * Automatic persisted queries (Apollo's protocol): a hash the gateway knows runs its query;
 * an unknown one answers PERSISTED_QUERY_NOT_FOUND (404), and the client sends hash and
 * text, which is registered once it parses and validates (nothing invalid is kept). A text
 * whose hash is not the one named is refused with PERSISTED_QUERY_HASH_MISMATCH (400).
 */
export function useAutomaticPersistedQueries(store: PersistedQueryStore): GatewayPlugin {
  const toRegister = new WeakMap<Request, { hash: string; query: string }>();
  return {
    async onParams({ params, setParams, request }) {
      const hash = persistedQueryHash(params.extensions);
      if (hash === undefined) return;
      if (!params.query) {
        const query = await store.get(hash);
        if (query === undefined) throw requestError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND', 404);
        setParams({ ...params, query });
        return;
      }
      if (createHash('sha256').update(params.query).digest('hex') !== hash) {
        throw requestError(
          'The query does not have the sha256Hash its persistedQuery extension names',
          'PERSISTED_QUERY_HASH_MISMATCH',
          400,
        );
      }
      toRegister.set(request, { hash, query: params.query });
    },
    onValidate({ context }) {
      const registration = toRegister.get(context.request);
      if (!registration) return;
      return ({ valid }) => {
        // set() reports its own failures: a registration that is not shared is not the client's error.
        if (valid) void store.set(registration.hash, registration.query);
      };
    },
  };
}
