import { randomFillSync, randomUUID } from 'node:crypto';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const REQUEST_ID = /^[\w.-]{1,128}$/;
const INCREMENTAL = /multipart\/mixed|text\/event-stream/;

/** Random bytes drawn a pool at a time: a trace id and a span id per subgraph call are hex of 16 and 8 of them. */
const entropy = Buffer.alloc(4096);
let drawn = entropy.length;
const randomHex = (bytes: number) => {
  if (drawn + bytes > entropy.length) {
    randomFillSync(entropy);
    drawn = 0;
  }
  return entropy.toString('hex', drawn, (drawn += bytes));
};

interface RequestContext {
  requestId: string;
  traceId: string;
  flags: string;
  state?: string;
  /** Aborts the request's subgraph calls once they have taken the client's subgraph timeout (made at the first). */
  deadline?: AbortController;
  timer?: NodeJS.Timeout;
  /** The engine's signals the deadline follows (a client that went away), until the request is answered. */
  follows?: Array<[AbortSignal, () => void]>;
}

const deadlinePassed = () => new DOMException("The request's subgraph deadline passed", 'TimeoutError');

/**
 * What each subgraph call of a request carries besides its merge key: the request id (the
 * client's `x-request-id` when it is a sane one, else a new one; echoed on the response),
 * W3C trace context (the client's trace continued, or a new one, with a span id of each call's
 * own) and the request's deadline: its subgraph calls have `timeoutMs` from the first of them,
 * after which the calls still running fail their fields with SUBGRAPH_TIMEOUT (gateway/errors.ts)
 * and the rest of the response arrives. One hook that edits each call in place: this runs on
 * every subgraph call. (The engine's upstreamTimeout left an abort listener per call on a
 * signal that outlives the request, which made later calls slower and slower under load.) The
 * deadline is one controller and one timer per request, cleared with its answer, rather than
 * AbortSignal.timeout and AbortSignal.any, whose weak references cost the collector on every call.
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
      context =
        incoming && !/^0+$/.test(incoming[1]!) && !/^0+$/.test(incoming[2]!)
          ? { requestId, traceId: incoming[1]!, flags: incoming[3]!, state: state && state.length <= 512 ? state : undefined }
          : { requestId, traceId: randomHex(16), flags: '01' };
      contexts.set(request, context);
    }
    return context;
  };
  /** Ends what the deadline holds: its timer, and its listeners on the engine's signals, which may outlive the request. */
  const release = (context: RequestContext) => {
    clearTimeout(context.timer);
    for (const [signal, listener] of context.follows ?? []) signal.removeEventListener('abort', listener);
    context.follows = undefined;
  };
  const deadlineOf = (context: RequestContext, engineSignal: AbortSignal | undefined): AbortSignal => {
    if (engineSignal?.aborted) return engineSignal;
    let deadline = context.deadline;
    if (!deadline) {
      const controller = (deadline = context.deadline = new AbortController());
      context.timer = setTimeout(() => {
        controller.abort(deadlinePassed());
        release(context);
      }, timeoutMs).unref();
    }
    if (engineSignal && !context.follows?.some(([signal]) => signal === engineSignal)) {
      const controller = deadline;
      const follow = () => controller.abort(engineSignal.reason);
      engineSignal.addEventListener('abort', follow);
      (context.follows ??= []).push([engineSignal, follow]);
    }
    return deadline.signal;
  };
  return {
    onFetch({ context, options }) {
      if (!context || !('request' in context)) return;
      const request = contextOf(context.request);
      const headers = (options.headers ??= {});
      headers['x-request-id'] = request.requestId;
      headers.traceparent = `00-${request.traceId}-${randomHex(8)}-${request.flags}`;
      if (request.state) headers.tracestate = request.state;
      // A subscription's stream lives as long as its client's (and the subscription policy's limits), not a call's.
      if (String(headers.accept ?? '').includes('text/event-stream')) return;
      options.signal = deadlineOf(request, options.signal ?? undefined);
    },
    onResponse({ request, response }) {
      const context = contextOf(request);
      response.headers.set('x-request-id', context.requestId);
      // An answer sent whole ends its calls; an incremental one (@defer) may still be making them.
      if (context.deadline && !INCREMENTAL.test(response.headers.get('content-type') ?? '')) release(context);
    },
  };
}
