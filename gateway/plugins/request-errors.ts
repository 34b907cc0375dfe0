import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, getOperationAST } from 'graphql';

const requestError = (message: string, code: string) => new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

/**
 * Request errors as GraphQL over HTTP wants them. A subscription (which this gateway does not
 * serve) or a mutation against a schema without mutations is refused 400
 * OPERATION_TYPE_NOT_SUPPORTED before any planning, where the planner would fail it as an
 * internal error. A result with errors and no `data` at all failed before execution (variables
 * that do not fit their types): 400 for clients that accept application/graphql-response+json
 * (application/json keeps 200, as the spec has it), with the code BAD_USER_INPUT.
 */
export function useRequestErrors(): GatewayPlugin {
  return {
    onSubscribe() {
      throw requestError('This gateway does not serve subscription operations.', 'OPERATION_TYPE_NOT_SUPPORTED');
    },
    onExecute({ args }) {
      if (args.schema.getMutationType()) return;
      if (getOperationAST(args.document, args.operationName)?.operation === 'mutation') {
        throw requestError('This schema has no mutations.', 'OPERATION_TYPE_NOT_SUPPORTED');
      }
    },
    onExecutionResult({ result, setResult }) {
      if (!result || Symbol.asyncIterator in result || 'data' in result || !result.errors?.length) return;
      if (result.errors.some((error) => error.extensions?.http)) return;
      setResult({
        ...result,
        errors: result.errors.map(
          (error) =>
            new GraphQLError(error.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              path: error.path,
              extensions: { code: 'BAD_USER_INPUT', ...error.extensions, http: { spec: true, status: 400 } },
            }),
        ),
      });
    },
  };
}
