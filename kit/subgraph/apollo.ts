import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { UpstreamError } from '../errors.js';
import type { Logger } from '../process/logger.js';
import { stringPropertyOf } from '../process/caught.js';

/**
 * Errors a client may see: GraphQL's own (validation, bad input) and typed upstream
 * failures. Anything else is a bug: it is logged in full and the client gets a
 * generic INTERNAL_SERVER_ERROR with no message, stack or upstream detail.
 */
export function errorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrap(error);
    if (original instanceof UpstreamError) {
      logger.warn(
        { source: original.sourceName, code: original.code, status: original.status, path: formatted.path },
        'upstream failure reached a field',
      );
      return formatted;
    }
    if (isGraphQLError(original)) return formatted;
    logger.error({ err: original, path: formatted.path }, 'unexpected error in resolver');
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/**
 * The error a resolver threw, under graphql's located-error wrappers. Checked by shape, not
 * only by class: a process can hold two copies of graphql (its CJS and ESM builds), or
 * run modules in several realms (jest), where instanceof says no. Errors a subgraph sent
 * (plain JSON under the gateway's wrapper) are already client-safe and stay wrapped.
 */
function unwrap(error: unknown): unknown {
  let current = error;
  while (isGraphQLError(current) && isThrown(current.originalError)) current = current.originalError;
  return current;
}

/** A thrown error, as opposed to an error object a subgraph sent as JSON (no stack). */
function isThrown(value: unknown): value is Error {
  return stringPropertyOf(value, 'stack') !== undefined;
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError || stringPropertyOf(error, 'name') === 'GraphQLError';
}

/** Apollo Server reports to Apollo's cloud when an APOLLO_KEY is around; patchbay never does. */
export function noPhoneHomePlugins<T extends BaseContext>(): ApolloServerPlugin<T>[] {
  return [
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginInlineTraceDisabled(),
  ] as ApolloServerPlugin<T>[];
}
