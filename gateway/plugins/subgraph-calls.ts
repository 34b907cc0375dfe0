import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { ExecutionRequest } from '@graphql-tools/utils';
import { ServerResponse } from 'node:http';

/** One subgraph call as the engine is about to send it, for the policies that add to it. */
export interface SubgraphCall {
  /** The client's request this call serves (absent for a call made outside one). */
  request?: Request;
  /** The call's headers, written in place. */
  headers: Record<string, string>;
  /** The call's options: its body (already serialized) and its signal, which a step may replace. */
  options: { body?: unknown; signal?: AbortSignal | null };
  executionRequest?: ExecutionRequest;
  /** The response being written to the client over HTTP (absent over WebSocket): closed early, the client went away. */
  connection?: ServerResponse;
}

/** The node response of a request served over HTTP, which the server adapter puts in its context. */
const connectionOf = (context: unknown): ServerResponse | undefined => {
  const res = (context as { res?: unknown } | undefined)?.res;
  return res instanceof ServerResponse ? res : undefined;
};

/** What one policy does to every subgraph call: synchronous, in place. */
export type SubgraphCallStep = (call: SubgraphCall) => void;

/**
 * Every policy's part of a subgraph call in one engine hook, the steps in the order given.
 * The engine builds a payload of closures for each plugin's hook on every call; the policies
 * that touch calls (metrics, request context, tracing, signatures) share one, so that each
 * costs a function call.
 */
export function useSubgraphCalls(steps: readonly SubgraphCallStep[]): GatewayPlugin {
  if (!steps.length) return {};
  return {
    onFetch({ context, options, executionRequest }) {
      const call: SubgraphCall = {
        request: context && 'request' in context ? (context.request as Request) : undefined,
        headers: (options.headers ??= {}) as Record<string, string>,
        options,
        executionRequest,
        connection: connectionOf(context),
      };
      for (const step of steps) step(call);
    },
  };
}
