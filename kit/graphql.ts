import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { UpstreamError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Errors a client may see: GraphQL's own (validation, bad input) and typed upstream
 * failures. Anything else is a bug: it is logged in full and the client gets a
 * generic INTERNAL_SERVER_ERROR with no message, stack or upstream detail.
 */
export function errorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof UpstreamError) {
      logger.warn(
        { source: original.sourceName, code: original.code, status: original.status, path: formatted.path },
        'upstream failure reached a field',
      );
      return formatted;
    }
    if (original instanceof GraphQLError) return formatted;
    logger.error({ err: original, path: formatted.path }, 'unexpected error in resolver');
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
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
