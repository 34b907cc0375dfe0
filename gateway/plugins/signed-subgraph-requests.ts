import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { SIGNATURE_HEADER, createRequestSignature } from '../../kit/caller/body-signature.js';
import { CALLER_HEADER } from '../../kit/caller/token.js';
import { stringPropertyOf } from '../../kit/process/caught.js';

/**
 * Signs each subgraph call's caller token together with its body (kit/caller/body-signature.ts), after the
 * engine has written both: a subgraph acts only on a body the gateway made for that caller.
 */
export function useSignedSubgraphRequests(internalSecret: string): GatewayPlugin {
  const signature = createRequestSignature(internalSecret);
  return {
    onFetch({ options, executionRequest }) {
      const headers = (options.headers ??= {});
      const token = headers[CALLER_HEADER] ?? stringPropertyOf(executionRequest?.extensions?.headers, CALLER_HEADER);
      if (token && typeof options.body === 'string') headers[SIGNATURE_HEADER] = signature.sign(token, options.body);
    },
  };
}
