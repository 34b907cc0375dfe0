import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable } from 'graphql-yoga';
import { isStreamId } from '../../kit/state/event-stream.js';

/** A comment every 12 s keeps proxies and load balancers from cutting an idle stream (as Yoga's own SSE does). */
const HEARTBEAT_MS = 12_000;
// Stateless: one for every stream.
const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(':\n\n');
const COMPLETE = encoder.encode('event: complete\ndata:\n\n');

/** The `eventId` a pushed payload carries at its root field (`{"data":{"field":{"eventId":…}}}`), if any. */
function eventIdOf(result: ExecutionResult): string | undefined {
  const root = result.data ? Object.values(result.data)[0] : undefined;
  const eventId = (root as { eventId?: unknown } | null | undefined)?.eventId;
  return typeof eventId === 'string' && isStreamId(eventId) ? eventId : undefined;
}

/** One SSE message of a pushed result: with its `id:` field when it carries an event id. */
function message(result: ExecutionResult): Uint8Array {
  const id = eventIdOf(result);
  const { data, errors, extensions } = result;
  const body = JSON.stringify({
    ...(errors ? { errors } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(extensions ? { extensions } : {}),
  });
  return encoder.encode(`${id ? `id: ${id}\n` : ''}event: next\ndata: ${body}\n\n`);
}

/**
 * Resuming as SSE clients that reconnect by themselves do it (EventSource's rules), beside the `after` argument: each pushed event carries its
 * event id in the SSE `id:` field (the payload's `eventId`, which the operation selects), so a
 * client that reconnects sends it back as `Last-Event-ID`; that header fills the operation's
 * `$after` variable when the request does not set it. A subscription's stream is written here,
 * as GraphQL over SSE's distinct connections mode has it (`next` events, a `complete`, comment
 * heartbeats): one stream per subscription, nothing layered over it.
 */
export function useEventIds(): GatewayPlugin {
  return {
    onParams({ request, params, setParams }) {
      const lastEventId = request.headers.get('last-event-id')?.trim();
      if (!lastEventId || !isStreamId(lastEventId) || params.variables?.after != null) return;
      setParams({ ...params, variables: { ...params.variables, after: lastEventId } });
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (!isAsyncIterable(result) || !request.headers.get('accept')?.includes('text/event-stream')) return;
      setResultProcessor((stream, fetchAPI) => {
        const iterator = (stream as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
        let heartbeat: NodeJS.Timeout | undefined;
        const body = new fetchAPI.ReadableStream<Uint8Array>({
          start(controller) {
            // Some browsers hold a response until its first bytes: a heartbeat goes first.
            controller.enqueue(HEARTBEAT);
            heartbeat = setInterval(() => {
              if (controller.desiredSize === null) clearInterval(heartbeat);
              else if (controller.desiredSize > 0) controller.enqueue(HEARTBEAT);
            }, HEARTBEAT_MS);
          },
          async pull(controller) {
            try {
              const next = await iterator.next();
              if (!next.done) return controller.enqueue(message(next.value));
              controller.enqueue(COMPLETE);
              clearInterval(heartbeat);
              controller.close();
            } catch (error) {
              clearInterval(heartbeat);
              controller.error(error);
            }
          },
          async cancel() {
            clearInterval(heartbeat);
            await iterator.return?.();
          },
        });
        return new fetchAPI.Response(body, {
          status: 200,
          headers: {
            'content-type': 'text/event-stream',
            connection: 'keep-alive',
            'cache-control': 'no-cache',
            'content-encoding': 'none',
          },
        });
      }, 'text/event-stream');
    },
  };
}
