import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type ValidationContext,
} from 'graphql';
import type { QueryLimits } from '../clients/types.js';
import { estimateCost } from '../cost.js';
import { selectionLimitExceeded } from '../selections.js';

const requestError = (message: string, code: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 }, ...extensions } });

/**
 * Bounds the CPU a document can cost before validation: parsing stops at the client's token
 * limit (graphql-js's own `maxTokens`), so a huge document costs only its first N tokens; a
 * document nested deeper than the parser's stack is refused, never answered with a stack
 * overflow; and a parsed document that selects too much, or one field too often at one place
 * (gateway/selections.ts), is refused in time linear in its size, before validation's pairwise
 * field comparisons run. Refused documents are not cached: each costs at most that again.
 */
export function useParserLimits(limits: QueryLimits): GatewayPlugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        let document: DocumentNode;
        try {
          document = parse(source, { ...options, maxTokens: limits.tokens });
        } catch (error) {
          if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) {
            throw requestError(`Token limit of ${limits.tokens} exceeded.`, 'GRAPHQL_PARSE_FAILED');
          }
          if (error instanceof RangeError) throw tooDeep();
          throw error;
        }
        let exceeded: string | undefined;
        try {
          exceeded = selectionLimitExceeded(document, limits);
        } catch (error) {
          if (error instanceof RangeError) throw tooDeep();
          throw error;
        }
        if (exceeded) throw requestError(exceeded, 'GRAPHQL_VALIDATION_FAILED');
        return document;
      });
    },
  };
}

const tooDeep = () => requestError('The document is nested too deeply.', 'GRAPHQL_PARSE_FAILED');

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
      for (const definition of args.document.definitions)
        if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
      const estimated = estimateCost(args.schema, operation, fragments, args.variableValues ?? {}, {
        unsizedList: limits.listSize,
        mutation: 10,
      });
      if (limits.costMode === 'measure') {
        estimates.set(args.contextValue, estimated);
        return;
      }
      if (estimated > limits.cost) {
        throw requestError(`Cost limit of ${limits.cost} exceeded, estimated ${estimated}.`, 'COST_ESTIMATED_TOO_EXPENSIVE', {
          cost: { estimated, max: limits.cost },
        });
      }
    },
    onExecutionResult({ result, setResult, context }) {
      const estimated = estimates.get(context);
      if (estimated === undefined || !result || Symbol.asyncIterator in result) return;
      setResult({ ...result, extensions: { ...result.extensions, cost: { estimated, max: limits.cost } } });
    },
  };
}
