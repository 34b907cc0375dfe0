import { randomUUID } from 'node:crypto';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const REQUEST_ID = /^[\w.-]{1,128}$/;

/** 32 random hex digits (a trace id), from the pooled entropy randomUUID draws on. */
const randomHex32 = () => randomUUID().replaceAll('-', '');

interface RequestContext {
  requestId: string;
  traceId: string;
  flags: string;
  state?: string;
  /** Aborts the request's subgraph calls once they have taken the client's subgraph timeout. */
  deadline: AbortSignal;
}

/**
 * What each subgraph call of a request carries besides its merge key: the request id (the
 * client's `x-request-id` when it is a sane one, else a new one; echoed on the response),
 * W3C trace context (the client's trace continued, or a new one, with a span id of each call's
 * own) and the request's deadline: its subgraph calls have `timeoutMs` from the first of them,
 * after which the calls still running fail their fields with SUBGRAPH_TIMEOUT (gateway/errors.ts)
 * and the rest of the response arrives. One hook that edits each call in place: this runs on
 * every subgraph call. (The engine's upstreamTimeout left an abort listener per call on a
 * signal that outlives the request, which made later calls slower and slower under load.)
 */
export function useRequestContext(timeoutMs: number): GatewayPlugin {
  const contexts = new WeakMap<Request, RequestContext>();
  const contextOf = (request: Request): RequestContext => {
    let context = contexts.get(request);
    if (!context) {
      const incomingId = request.headers.get('x-request-id');
      const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
      const incoming = TRACEPARENT.exec(request.headers.get('traceparent') ?? '');
      const state = request.headers.get('tracestate');
      const deadline = AbortSignal.timeout(timeoutMs);
      context =
        incoming && !/^0+$/.test(incoming[1]!) && !/^0+$/.test(incoming[2]!)
          ? { requestId, traceId: incoming[1]!, flags: incoming[3]!, state: state && state.length <= 512 ? state : undefined, deadline }
          : { requestId, traceId: randomHex32(), flags: '01', deadline };
      contexts.set(request, context);
    }
    return context;
  };
  return {
    onFetch({ context, options }) {
      if (!context || !('request' in context)) return;
      const request = contextOf(context.request);
      const headers = (options.headers ??= {});
      headers['x-request-id'] = request.requestId;
      headers.traceparent = `00-${request.traceId}-${randomHex32().slice(0, 16)}-${request.flags}`;
      if (request.state) headers.tracestate = request.state;
      // A subscription's stream lives as long as its client's (and the subscription policy's limits), not a call's.
      if (String(headers.accept ?? '').includes('text/event-stream')) return;
      options.signal = options.signal ? AbortSignal.any([options.signal, request.deadline]) : request.deadline;
    },
    onResponse({ request, response }) {
      response.headers.set('x-request-id', contexts.get(request)?.requestId ?? contextOf(request).requestId);
    },
  };
}
