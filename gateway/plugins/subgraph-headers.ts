import type { PropagateHeadersOpts } from '@graphql-hive/gateway-runtime';
import { CALLER_HEADER, type Caller } from '../../kit/caller/token.js';
import type { ClientAuthContext } from './client-auth.js';

/**
 * What a subgraph request carries that decides its answer: the caller, signed for that
 * subgraph alone, and the client headers this client's config lets through (no cookie, no
 * authorization, nothing else). These are part of the engine's key for merging identical
 * concurrent subgraph requests, so only requests of the same caller are ever merged.
 */
export function subgraphHeaders(options: {
  client: string;
  forwardHeaders: readonly string[];
  signCaller: (caller: Caller, subgraph: string) => string | Promise<string>;
}): PropagateHeadersOpts<ClientAuthContext> {
  return {
    fromClientToSubgraphs: ({ context, request, subgraphName }) => {
      const headers: Record<string, string> = {};
      for (const name of options.forwardHeaders) {
        const value = request.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      if (!context.identity) return headers;
      const { userId, scopes, email } = context.identity;
      const token = options.signCaller({ userId, scopes, client: options.client, ...(email ? { email } : {}) }, subgraphName);
      if (typeof token === 'string') {
        headers[CALLER_HEADER] = token;
        return headers;
      }
      return token.then((signed) => ({ ...headers, [CALLER_HEADER]: signed }));
    },
  };
}
