import { randomBytes } from 'node:crypto';
import type { GatewayPlugin, PropagateHeadersOpts } from '@graphql-hive/gateway-runtime';
import { CALLER_HEADER, type Caller } from '../../kit/caller.js';
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
  signCaller: (caller: Caller, subgraph: string) => Promise<string>;
}): PropagateHeadersOpts<ClientAuthContext> {
  return {
    fromClientToSubgraphs: async ({ context, request, subgraphName }) => {
      const headers: Record<string, string> = {};
      for (const name of options.forwardHeaders) {
        const value = request.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      if (context.identity) headers[CALLER_HEADER] = await options.signCaller({ ...context.identity, client: options.client }, subgraphName);
      return headers;
    },
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * W3C trace context on every subgraph call: the client's trace continued (or a new one) with
 * a span id of each call's own. Added at fetch time, after the merge key is made, so that
 * tracing never keeps identical requests apart.
 */
export function useTraceContext(): GatewayPlugin {
  const traces = new WeakMap<Request, { traceId: string; flags: string; state?: string }>();
  const traceOf = (request: Request) => {
    let trace = traces.get(request);
    if (!trace) {
      const incoming = TRACEPARENT.exec(request.headers.get('traceparent') ?? '');
      const state = request.headers.get('tracestate');
      trace =
        incoming && !/^0+$/.test(incoming[1]!) && !/^0+$/.test(incoming[2]!)
          ? { traceId: incoming[1]!, flags: incoming[3]!, state: state && state.length <= 512 ? state : undefined }
          : { traceId: randomBytes(16).toString('hex'), flags: '01' };
      traces.set(request, trace);
    }
    return trace;
  };
  return {
    onFetch({ context, options, setOptions }) {
      if (!context || !('request' in context)) return;
      const trace = traceOf(context.request);
      setOptions({
        ...options,
        headers: {
          ...options.headers,
          traceparent: `00-${trace.traceId}-${randomBytes(8).toString('hex')}-${trace.flags}`,
          ...(trace.state ? { tracestate: trace.state } : {}),
        },
      });
    },
  };
}
