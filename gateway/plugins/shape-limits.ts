import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { QueryLimits } from '../clients/types.js';

/**
 * Depth (fields only: fragments add none), aliases and directives, by graphql-armor's
 * validation rules. Its errors are reported as plain validation errors, without its
 * "Syntax Error:" prefix.
 */
export function useShapeLimits(limits: QueryLimits): GatewayPlugin {
  const report = (context: ValidationContext | null, error: GraphQLError) =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const rejection = { propagateOnRejection: false, onReject: [report] };
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.depth, ignoreIntrospection: true, flattenFragments: true, ...rejection },
    maxAliases: { n: limits.aliases, ...rejection },
    maxDirectives: { n: 50, ...rejection },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  });
}
