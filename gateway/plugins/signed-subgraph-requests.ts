import { SIGNATURE_HEADER, createRequestSignature } from '../../kit/caller/body-signature.js';
import { CALLER_HEADER } from '../../kit/caller/token.js';
import { stringPropertyOf } from '../../kit/process/caught.js';
import type { SubgraphCallStep } from './subgraph-calls.js';

/**
 * Signs each subgraph call's caller token together with its body (kit/caller/body-signature.ts), after the
 * engine has written both: a subgraph acts only on a body the gateway made for that caller.
 */
export function signSubgraphCalls(internalSecret: string): SubgraphCallStep {
  const signature = createRequestSignature(internalSecret);
  return ({ headers, options, executionRequest }) => {
    const token = headers[CALLER_HEADER] ?? stringPropertyOf(executionRequest?.extensions?.headers, CALLER_HEADER);
    if (token && typeof options.body === 'string') headers[SIGNATURE_HEADER] = signature.sign(token, options.body);
  };
}
