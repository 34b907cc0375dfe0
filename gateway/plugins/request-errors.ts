import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, getOperationAST } from 'graphql';
import { errorResponse } from '../responses.js';
import { requestError } from '../errors.js';

/** Refusals the engine answers with a status alone, given words and a code. */
const BODILESS_REFUSALS: Record<number, [string, string]> = {
  404: ['Not found: GraphQL is served at /graphql', 'NOT_FOUND'],
  405: ['Method not allowed: send GET or POST', 'METHOD_NOT_ALLOWED'],
  406: [
    'Not acceptable: accept application/graphql-response+json or application/json (text/event-stream for a subscription)',
    'NOT_ACCEPTABLE',
  ],
  415: ['Unsupported media type: send application/json', 'UNSUPPORTED_MEDIA_TYPE'],
};

/**
 * Request errors as GraphQL over HTTP wants them. A subscription or a mutation against a schema
 * without them is refused 400
 * OPERATION_TYPE_NOT_SUPPORTED before any planning, where the planner would fail it as an
 * internal error. A result with errors and no `data` at all failed before execution (variables
 * that do not fit their types): 400 for clients that accept application/graphql-response+json
 * (application/json keeps 200, as the spec has it), with the code BAD_USER_INPUT. A result
 * whose errors have paths did execute (a non-null root field failed): it keeps `data: null`. A refusal
 * the engine answers with a status and no body (415, 406) gets a JSON body saying why.
 */
export function useRequestErrors(): GatewayPlugin {
  return {
    onSubscribe({ args }) {
      if (!args.schema.getSubscriptionType()) throw requestError('This schema has no subscriptions.', 'OPERATION_TYPE_NOT_SUPPORTED');
    },
    onExecute({ args }) {
      if (args.schema.getMutationType()) return;
      if (getOperationAST(args.document, args.operationName)?.operation === 'mutation') {
        throw requestError('This schema has no mutations.', 'OPERATION_TYPE_NOT_SUPPORTED');
      }
    },
    onResponse({ request, response, setResponse }) {
      const refusal = BODILESS_REFUSALS[response.status];
      if (!refusal || response.headers.has('content-type')) return;
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => void (headers[name] = value));
      setResponse(errorResponse(request.headers.get('accept'), response.status, refusal[0], refusal[1], headers));
    },
    onExecutionResult({ result, setResult }) {
      if (!result || Symbol.asyncIterator in result || 'data' in result || !result.errors?.length) return;
      if (result.errors.some((error) => error.extensions?.http)) return;
      // Execution ran and a non-null root field failed: `data: null` says so (the engine drops
      // it), and the request itself was fine: the status stays 200.
      if (result.errors.some((error) => error.path?.length)) return setResult({ ...result, data: null });
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
