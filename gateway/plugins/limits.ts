import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, getOperationAST, parse, type FragmentDefinitionNode, type ValidationContext } from 'graphql';
import type { QueryLimits } from '../clients/types.js';
import { estimateCost } from '../cost.js';

const requestError = (message: string, code: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 }, ...extensions } });

/**
 * Parsing stops at the client's token limit (graphql-js's own `maxTokens`), so a huge
 * document costs only as much as its first N tokens; a document nested deeper than the
 * parser's stack is refused the same way, never answered with a stack overflow.
 */
export function useParserLimits(maxTokens: number): GatewayPlugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parse(source, { ...options, maxTokens });
        } catch (error) {
          if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) {
            throw requestError(`Token limit of ${maxTokens} exceeded.`, 'GRAPHQL_PARSE_FAILED');
          }
          if (error instanceof RangeError) throw requestError('The document is nested too deeply.', 'GRAPHQL_PARSE_FAILED');
          throw error;
        }
      });
    },
  };
}

/**
 * Depth (fields only: fragments add none), aliases and directives, by graphql-armor's
 * validation rules. Its errors are reported as plain validation errors, without its
 * "Syntax Error:" prefix.
 */
export function useShapeLimits(limits: QueryLimits): GatewayPlugin {
  const report = (context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const rejection = { propagateOnRejection: false, onReject: [report] };
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.depth, ignoreIntrospection: true, flattenFragments: true, ...rejection },
    maxAliases: { n: limits.aliases, ...rejection },
    maxDirectives: { n: 50, ...rejection },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }) as GatewayPlugin;
}

/**
 * Demand control (gateway/cost.ts) before execution: an operation estimated over the limit
 * is refused with COST_ESTIMATED_TOO_EXPENSIVE and nothing runs; in `measure` mode every
 * result reports `extensions.cost` instead and nothing is refused.
 */
export function useDemandControl(limits: QueryLimits): GatewayPlugin {
  const estimates = new WeakMap<object, number>();
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const definition of args.document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
      const estimated = estimateCost(args.schema, operation, fragments, args.variableValues ?? {}, { unsizedList: limits.listSize, mutation: 10 });
      if (limits.costMode === 'measure') {
        estimates.set(args.contextValue as object, estimated);
        return;
      }
      if (estimated > limits.cost) {
        throw requestError(`Cost limit of ${limits.cost} exceeded, estimated ${estimated}.`, 'COST_ESTIMATED_TOO_EXPENSIVE', { cost: { estimated, max: limits.cost } });
      }
    },
    onExecutionResult({ result, setResult, context }) {
      const estimated = estimates.get(context);
      if (estimated === undefined || !result || Symbol.asyncIterator in result) return;
      const single = result as { extensions?: Record<string, unknown> };
      setResult({ ...single, extensions: { ...single.extensions, cost: { estimated, max: limits.cost } } } as typeof result);
    },
  };
}
