import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { stalenessOf } from '../state/entity-cache.js';
import { STALE_CODE } from '../errors.js';

interface Mark {
  message: string;
  path: Array<string | number>;
  extensions: { code: typeof STALE_CODE; cache: string; since: string; reason: string };
}

/** The field being resolved, and where the request's marks go. */
const fields = new AsyncLocalStorage<{ path: () => Array<string | number>; marks: Mark[] }>();
const marksOfRequest = new WeakMap<object, Mark[]>();

/**
 * Returns `value`, reporting it for the field being resolved when an entity cache answered it
 * stale (its upstream failing). Every loader's `load` does (kit/subgraph/loader.ts); a resolver
 * that reads a cache by itself passes what it read through here.
 */
export function reportStaleness<T>(value: T): T {
  const staleness = stalenessOf(value);
  const field = staleness && fields.getStore();
  if (!staleness || !field) return value;
  const path = field.path();
  if (field.marks.some((mark) => mark.path.join('.') === path.join('.'))) return value;
  field.marks.push({
    message: `Answered from ${staleness.cache} as of ${staleness.since}: the upstream failed (${staleness.reason})`,
    path,
    extensions: { code: STALE_CODE, ...staleness },
  });
  return value;
}

type Resolver = (...args: unknown[]) => unknown;

/**
 * The resolver map with each field resolver run as "its field" (AsyncLocalStorage), so that a
 * stale value a loader hands it is marked at its path. A reference resolver's path is its entity's.
 */
export function withStalenessReports<Map extends object>(resolvers: Map): Map {
  const wrap =
    (resolve: Resolver, contextAt: number, infoAt: number): Resolver =>
    (...args) => {
      const context = args[contextAt];
      const info = args[infoAt] as GraphQLResolveInfo | undefined;
      if (typeof context !== 'object' || context === null || !info?.path) return resolve(...args);
      let marks = marksOfRequest.get(context);
      if (!marks) marksOfRequest.set(context, (marks = []));
      const path = contextAt === 1 ? () => entityPath(info, args[0]) : () => responsePathAsArray(info.path);
      return fields.run({ path, marks }, () => resolve(...args));
    };
  return Object.fromEntries(
    Object.entries(resolvers).map(([typeName, fieldResolvers]) => {
      // Scalars (GraphQLScalarType) and enum maps are not field resolvers; subscriptions stream, not load.
      if (typeName === 'Subscription' || typeof fieldResolvers !== 'object' || fieldResolvers === null || !isPlainObject(fieldResolvers))
        return [typeName, fieldResolvers];
      return [
        typeName,
        Object.fromEntries(
          Object.entries(fieldResolvers).map(([field, resolve]) => {
            if (typeof resolve !== 'function' || field === '__resolveType' || field === '__isTypeOf') return [field, resolve];
            // (reference, context, info) for references; (parent, args, context, info) for fields.
            return [field, field === '__resolveReference' ? wrap(resolve as Resolver, 1, 2) : wrap(resolve as Resolver, 2, 3)];
          }),
        ),
      ];
    }),
  ) as Map;
}

/** `_entities.<i>`: where a reference resolver's entity is in the answer (the position of its representation). */
function entityPath(info: GraphQLResolveInfo, reference: unknown): Array<string | number> {
  const path = responsePathAsArray(info.path);
  for (const value of Object.values(info.variableValues)) {
    const index = Array.isArray(value) ? value.indexOf(reference) : -1;
    if (index >= 0) return [...path, index];
  }
  return path;
}

const isPlainObject = (value: object) => Object.getPrototypeOf(value) === Object.prototype;

/** Adds the request's stale marks to its answer's errors (after every other plugin counted those), for the gateway to take. */
export function staleMarksPlugin(): ApolloServerPlugin<object> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const marks = marksOfRequest.get(contextValue);
          if (!marks?.length || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...marks];
        },
      };
    },
  };
}
