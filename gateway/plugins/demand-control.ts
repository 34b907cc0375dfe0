import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { Kind, getOperationAST, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import { operationMemo } from '../operation-memo.js';
import type { QueryLimits } from '../clients/types.js';
import { estimateCost } from '../cost.js';
import { requestError } from '../errors.js';

/**
 * Demand control (gateway/cost.ts) before execution: an operation estimated over the limit
 * is refused with COST_ESTIMATED_TOO_EXPENSIVE and nothing runs; in `measure` mode every
 * result reports `extensions.cost` instead and nothing is refused.
 */
export function useDemandControl(limits: QueryLimits): GatewayPlugin {
  const estimates = new WeakMap<object, number>();
  // An operation's estimate, kept per document and schema unless a list's size comes from a variable.
  const fixed = operationMemo<number | 'by variables'>();
  const estimate = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: object) => {
    const known = fixed.get(schema, document, operationName);
    if (typeof known === 'number') return known;
    const operation = getOperationAST(document, operationName);
    if (!operation) return undefined;
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of document.definitions)
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    let byVariables = false;
    const estimated = estimateCost(schema, operation, fragments, variables as Record<string, unknown>, {
      unsizedList: limits.listSize,
      mutation: 10,
      onVariableSize: () => (byVariables = true),
    });
    fixed.set(schema, document, operationName, byVariables ? 'by variables' : estimated);
    return estimated;
  };
  return {
    onExecute({ args }) {
      const estimated = estimate(args.schema, args.document, args.operationName, args.variableValues ?? {});
      if (estimated === undefined) return;
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
