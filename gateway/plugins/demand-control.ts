import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { Kind, getOperationAST, type FragmentDefinitionNode } from 'graphql';
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
