import { randomFillSync, randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { SubgraphCall, SubgraphCallStep } from './subgraph-calls.js';

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
  /** The client's connection the deadline follows (a client that went away), until the request is answered. */
  connection?: [ServerResponse, () => void];
  /** The engine's signals it follows besides (without a connection, or when the engine aborts for reasons of its own). */
  follows?: Set<AbortSignal>;
}

/**
 * Deadline controllers never aborted, for the next requests. A fetch holds its signal through
 * weak references and listeners of its own; a signal that lives long costs the collector far
 * less than a new one per request (a new one cost ~5% of a small request's CPU). One goes back
 * only once no fetch listens to it any more.
 */
const idleDeadlines: AbortController[] = [];
const IDLE_DEADLINES_KEPT = 1024;
const reuse = (controller: AbortController) => {
  if (
    !controller.signal.aborted &&
    idleDeadlines.length < IDLE_DEADLINES_KEPT &&
    getEventListeners(controller.signal, 'abort').length === 0
  )
    idleDeadlines.push(controller);
};

/**
 * The requests following each of the engine's signals: one listener per signal aborts the
 * deadlines of all of them, rather than one listener per request on a signal every call
 * shares (adding and removing those walks all the others).
 */
const followers = new WeakMap<AbortSignal, Set<RequestContext>>();
const follow = (signal: AbortSignal, context: RequestContext) => {
  let following = followers.get(signal);
  if (!following) {
    const requests = (following = new Set());
    followers.set(signal, following);
    signal.addEventListener('abort', () => {
      for (const request of requests) request.deadline?.abort(signal.reason);
    });
  }
  following.add(context);
  (context.follows ??= new Set()).add(signal);
};

const deadlinePassed = () => new DOMException("The request's subgraph deadline passed", 'TimeoutError');
const clientWentAway = () => new DOMException('The client went away', 'AbortError');

/**
 * What each subgraph call of a request carries besides its merge key: the request id (the
 * client's `x-request-id` when it is a sane one, else a new one; echoed on the response),
 * W3C trace context (the client's trace continued, or a new one, with a span id of each call's
 * own) and the request's deadline: its subgraph calls have `timeoutMs` from the first of them,
 * after which the calls still running fail their fields with SUBGRAPH_TIMEOUT (gateway/errors.ts)
 * and the rest of the response arrives. A step that edits each call in place (plugins/subgraph-calls.ts):
 * this runs on every subgraph call. (The engine's upstreamTimeout left an abort listener per call on a
 * signal that outlives the request, which made later calls slower and slower under load.) The
 * deadline is one controller (an answered request's, reused) and one timer per request, cleared
 * with its answer, rather than AbortSignal.timeout and AbortSignal.any, whose weak references cost
 * the collector on every call; it learns that a client went away from the client's connection
 * closing early.
 */
export function useRequestContext(timeoutMs: number): { plugin: GatewayPlugin; subgraphCall: SubgraphCallStep } {
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
  /**
   * Ends what the deadline holds: its timer, and its place on signals and connections that may
   * outlive the request; its controller goes back for another request's calls (a call made
   * after this has a deadline of its own).
   */
  const release = (context: RequestContext) => {
    clearTimeout(context.timer);
    if (context.connection) context.connection[0].removeListener('close', context.connection[1]);
    for (const signal of context.follows ?? []) followers.get(signal)?.delete(context);
    if (context.deadline) reuse(context.deadline);
    context.connection = context.follows = context.deadline = undefined;
  };
  const deadlineOf = (context: RequestContext, call: SubgraphCall, engineSignal: AbortSignal | undefined): AbortSignal => {
    if (engineSignal?.aborted) return engineSignal;
    let deadline = context.deadline;
    if (!deadline) {
      const controller = (deadline = context.deadline = idleDeadlines.pop() ?? new AbortController());
      context.timer = setTimeout(() => {
        controller.abort(deadlinePassed());
        release(context);
      }, timeoutMs).unref();
      const { connection } = call;
      if (connection) {
        // Closed before the answer was all written: the client went away.
        const closed = () => {
          if (!connection.writableFinished) controller.abort(connection.errored ?? clientWentAway());
          release(context);
        };
        connection.once('close', closed);
        context.connection = [connection, closed];
      }
    }
    // The request's own signal says no more than its connection does, and listening to it costs
    // far more (the server adapter wraps it in a proxy); any other signal of the engine's is followed.
    const saysNoMore = call.connection && engineSignal === call.request?.signal;
    if (engineSignal && !saysNoMore && !context.follows?.has(engineSignal)) follow(engineSignal, context);
    return deadline.signal;
  };
  return {
    subgraphCall(call) {
      const { request, headers, options } = call;
      if (!request) return;
      const context = contextOf(request);
      headers['x-request-id'] = context.requestId;
      headers.traceparent = `00-${context.traceId}-${randomHex(8)}-${context.flags}`;
      if (context.state) headers.tracestate = context.state;
      // A subscription's stream lives as long as its client's (and the subscription policy's limits), not a call's.
      if (String(headers.accept ?? '').includes('text/event-stream')) return;
      options.signal = deadlineOf(context, call, options.signal ?? undefined);
    },
    plugin: {
      onResponse({ request, response }) {
        const context = contextOf(request);
        response.headers.set('x-request-id', context.requestId);
        // An answer sent whole ends its calls; an incremental one (@defer) may still be making them.
        if (context.deadline && !INCREMENTAL.test(response.headers.get('content-type') ?? '')) release(context);
      },
    },
  };
}
