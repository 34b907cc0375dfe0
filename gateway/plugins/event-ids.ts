import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { getSSEProcessor, isAsyncIterable } from 'graphql-yoga';
import { isStreamId } from '../../kit/state/event-stream.js';

const processSSE = getSSEProcessor();

/** The `eventId` a pushed payload carries at its root field (`{"data":{"field":{"eventId":…}}}`), if any. */
function eventIdOf(data: string): string | undefined {
  try {
    const payload = JSON.parse(data) as { data?: Record<string, { eventId?: unknown } | null> | null };
    const root = payload.data ? Object.values(payload.data)[0] : undefined;
    return typeof root?.eventId === 'string' && isStreamId(root.eventId) ? root.eventId : undefined;
  } catch {
    return undefined;
  }
}

/** An SSE message with its `id:` field, when it pushes an event that has one. */
function withId(message: string): string {
  if (!message.startsWith('event: next\n')) return message;
  const data = /^data: (.*)$/m.exec(message)?.[1];
  const id = data && eventIdOf(data);
  return id ? `id: ${id}\n${message}` : message;
}

/**
 * Resuming as EventSource does it, beside the `after` argument: each pushed event carries its
 * event id in the SSE `id:` field (the payload's `eventId`, which the operation selects), so a
 * client that reconnects sends it back as `Last-Event-ID`; that header fills the operation's
 * `$after` variable when the request does not set it. Streams stay Yoga's own (heartbeats, ends);
 * only the id field is added, message by message.
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
      setResultProcessor(async (stream, fetchAPI, acceptedMediaType) => {
        const response = await processSSE(stream, fetchAPI, acceptedMediaType);
        const decoder = new fetchAPI.TextDecoder();
        const encoder = new fetchAPI.TextEncoder();
        let buffer = '';
        const body = response.body!.pipeThrough(
          new fetchAPI.TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              buffer += decoder.decode(chunk, { stream: true });
              for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
                controller.enqueue(encoder.encode(withId(buffer.slice(0, end + 2))));
                buffer = buffer.slice(end + 2);
              }
            },
            flush(controller) {
              if (buffer) controller.enqueue(encoder.encode(buffer));
            },
          }),
        );
        return new fetchAPI.Response(body, { status: response.status, headers: response.headers });
      }, 'text/event-stream');
    },
  };
}
