import { GraphQLError } from 'graphql';
import type { Logger } from '../kit/process/logger.js';
import { nameOf, propertyOf, stringPropertyOf } from '../kit/process/caught.js';

/** An error that answers the whole request with its code and status (400 unless said): a limit, a refusal, a parse failure. */
export const requestError = (message: string, code: string, extensions: Record<string, unknown> = {}, status = 400) =>
  new GraphQLError(message, { extensions: { code, http: { status }, ...extensions } });

/** Codes the engine gives a subgraph call that failed in transport, and what clients see instead. */
const UNREACHABLE = new Set(['SUBREQUEST_HTTP_ERROR', 'DOWNSTREAM_SERVICE_ERROR']);
const TIMED_OUT = new Set(['GATEWAY_TIMEOUT', 'TIMEOUT_ERROR']);

/** Whether a subgraph call ended because it was aborted: the request's deadline passed (a client that went away sees no answer). */
function wasAborted(error: unknown, depth = 0): boolean {
  const name = nameOf(error);
  if (name === 'AbortError' || name === 'TimeoutError') return true;
  const next = propertyOf(error, 'originalError') ?? propertyOf(error, 'cause');
  return depth < 4 && next !== undefined && next !== error && wasAborted(next, depth + 1);
}

const isGraphQLError = (error: unknown): error is GraphQLError =>
  error instanceof GraphQLError || stringPropertyOf(error, 'name') === 'GraphQLError';

/** Extensions that carry internals (the engine's request and response records, a parser's own error, stacks). */
const INTERNAL_EXTENSIONS = ['originalError', 'stacktrace', 'exception', 'request', 'response'];

/** Codes for the engine's HTTP-level refusals that come without one (its only 403 is CSRF prevention's). */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  403: 'CSRF_PREVENTED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The error without extensions that carry internals, and with a code. */
function withoutInternals(error: GraphQLError): GraphQLError {
  const httpStatus = propertyOf(error.extensions.http, 'status');
  const status = typeof httpStatus === 'number' ? httpStatus : undefined;
  const missingCode = error.extensions.code === undefined && status !== undefined && CODE_BY_STATUS[status] !== undefined;
  if (!missingCode && !INTERNAL_EXTENSIONS.some((key) => key in error.extensions)) return error;
  const extensions: Record<string, unknown> = { ...error.extensions, ...(missingCode ? { code: CODE_BY_STATUS[status!] } : {}) };
  for (const key of INTERNAL_EXTENSIONS) delete extensions[key];
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}

/**
 * An error a subgraph sent, as the JSON of its stream's event (a subscription's: the engine hands
 * it on as it came), not a thrown one: subgraphs format what they send (kit/subgraph/apollo.ts),
 * so it is as safe as their answers.
 */
const isSentBySubgraph = (error: unknown): boolean =>
  !(error instanceof Error) && typeof propertyOf(error, 'message') === 'string' && !propertyOf(error, 'stack');

/** An error that is a GraphQL error all the way down: made to be shown (validation, a subgraph's, ours). */
const isClientSafe = (error: GraphQLError): boolean =>
  !error.originalError || (isGraphQLError(error.originalError) && isClientSafe(error.originalError));

/** Whether an error is the engine's for a subgraph call that failed in transport: `unavailable`, `timeout`, or undefined. */
export function transportFailureOf(error: unknown): 'unavailable' | 'timeout' | undefined {
  if (!isGraphQLError(error)) return undefined;
  const code = error.extensions?.code;
  if (typeof code !== 'string' || !(UNREACHABLE.has(code) || TIMED_OUT.has(code))) return undefined;
  return TIMED_OUT.has(code) || wasAborted(error.originalError) ? 'timeout' : 'unavailable';
}

/**
 * What a client may see of an error. A subgraph that cannot be reached or answers too late
 * fails the fields it owns with SUBGRAPH_UNAVAILABLE or SUBGRAPH_TIMEOUT naming it, never the
 * transport's message (which holds internal addresses); GraphQL errors made for clients pass
 * as they are; anything else is logged and answered INTERNAL_SERVER_ERROR, with no message,
 * stack or detail, whatever NODE_ENV is.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    if (isSentBySubgraph(error)) {
      const path = propertyOf(error, 'path');
      const extensions = propertyOf(error, 'extensions');
      return withoutInternals(
        new GraphQLError(String(propertyOf(error, 'message')), {
          path: Array.isArray(path) ? path : undefined,
          extensions: typeof extensions === 'object' && extensions !== null ? { ...extensions } : {},
        }),
      );
    }
    const graphqlError = isGraphQLError(error) ? error : undefined;
    const failure = transportFailureOf(error);
    if (graphqlError && failure) {
      const subgraph = String(graphqlError.extensions.serviceName ?? graphqlError.extensions.subgraphName ?? 'unknown');
      const timedOut = failure === 'timeout';
      logger.warn({ subgraph, code: graphqlError.extensions.code, path: graphqlError.path }, 'subgraph call failed');
      return new GraphQLError(`Subgraph ${subgraph} ${timedOut ? 'did not answer in time' : 'is unavailable'}`, {
        path: graphqlError.path,
        extensions: { code: timedOut ? 'SUBGRAPH_TIMEOUT' : 'SUBGRAPH_UNAVAILABLE', subgraph, retryable: true },
      });
    }
    if (graphqlError && isClientSafe(graphqlError)) return withoutInternals(graphqlError);
    logger.error({ err: graphqlError?.originalError ?? error, path: graphqlError?.path }, 'unexpected error');
    return new GraphQLError('Internal server error', {
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...(graphqlError?.extensions?.http ? { http: graphqlError.extensions.http } : {}) },
    });
  };
}
