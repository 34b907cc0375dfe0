import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { ExecutionResult, GraphQLError } from 'graphql';
import { STALE_CODE } from '../../kit/errors.js';

/** A field answered from a cache past its freshness because its upstream failed, as clients see it in `extensions.stale`. */
export interface StaleField {
  path: ReadonlyArray<string | number>;
  /** When what was answered was loaded from its upstream. */
  since: string;
  /** The upstream failure's code (`UPSTREAM_UNAVAILABLE`, `CIRCUIT_OPEN`...). */
  reason: string;
  /** The cache that answered it (`email.messages`). */
  cache: string;
}

type Payload = ExecutionResult & { incremental?: ReadonlyArray<{ errors?: readonly GraphQLError[] }> };

const isStaleMark = (error: GraphQLError) => error.extensions?.code === STALE_CODE;

/** The stale marks among errors, and the errors left. */
function split(errors: readonly GraphQLError[] | undefined): [StaleField[], GraphQLError[] | undefined] {
  if (!errors?.some(isStaleMark)) return [[], errors as GraphQLError[] | undefined];
  const stale = errors.filter(isStaleMark).map(({ path, extensions }) => ({
    path: path ?? [],
    since: String(extensions.since),
    reason: String(extensions.reason),
    cache: String(extensions.cache),
  }));
  const left = errors.filter((error) => !isStaleMark(error));
  return [stale, left.length ? left : undefined];
}

/** A payload with its stale marks (and those of its incremental parts) moved from `errors` to `extensions.stale`. */
function withStaleMarksMoved<T extends Payload>(payload: T): T {
  const [stale, errors] = split(payload.errors);
  const incremental = payload.incremental?.map((part) => {
    const [partStale, partErrors] = split(part.errors);
    stale.push(...partStale);
    const { errors: _marks, ...rest } = part;
    return partErrors ? { ...rest, errors: partErrors } : rest;
  });
  if (!stale.length) return payload;
  const { errors: _marks, ...rest } = payload;
  return {
    ...rest,
    ...(errors ? { errors } : {}),
    ...(incremental ? { incremental } : {}),
    extensions: { ...payload.extensions, stale: [...((payload.extensions?.stale as StaleField[] | undefined) ?? []), ...stale] },
  } as unknown as T;
}

/**
 * Fields a subgraph answered stale (its entity cache, while the upstream failed) reach the client
 * marked in `extensions.stale`: which paths, since when, why. The subgraphs send them as errors
 * of code STALE (kit/subgraph/staleness.ts) so that the engine moves their paths to the client's
 * as it moves every subgraph error; here they leave `errors`, and the answer counts as complete.
 */
export function useStaleMarks(): GatewayPlugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return void setResult(withStaleMarksMoved(result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(withStaleMarksMoved(next)) };
        },
      };
    },
  };
}
