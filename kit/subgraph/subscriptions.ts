import { ResyncRequiredError, SlowConsumerError, type EventOf, type EventStream, type EventTypes } from '../state/event-stream.js';
import { SpanKind, extractContext, tracer } from '../process/tracing.js';

/** One pushed update, or the typed reason its stream ends (the client resumes or refetches). */
export type StreamUpdate<Update> = { update: Update } | { error: ResyncRequiredError | SlowConsumerError };

/**
 * A subscription over a domain's event stream: every event after `after` (now, when absent),
 * of `topic` when given (the stream's topicsOf: only its events reach this reader), each turned
 * into an update by `toUpdate`, or skipped when it answers undefined (another
 * user's, another kind). Whose events a caller may see is decided in `toUpdate`, in the
 * subgraph. A resume too old, or a reader too slow, ends the stream with its typed error,
 * which `updateOf` raises as the subscription's last payload.
 */
export async function* followUpdates<Types extends EventTypes, Update>(
  stream: EventStream<Types>,
  after: string | null | undefined,
  signal: AbortSignal,
  toUpdate: (event: EventOf<Types>) => Update | undefined | Promise<Update | undefined>,
  topic?: string,
): AsyncGenerator<StreamUpdate<Update>> {
  try {
    for await (const event of stream.follow(after ?? undefined, signal, topic)) {
      // From handed to this reader until pushed on (the next is asked for), in the trace of where it was appended.
      const span = tracer.startSpan(
        `event.deliver ${stream.name}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: { 'patchbay.stream': stream.name, 'patchbay.event.id': event.id, 'patchbay.event.type': event.type },
        },
        extractContext((name) => (name === 'traceparent' ? event.trace : undefined)),
      );
      try {
        const update = await toUpdate(event);
        span.setAttribute('patchbay.event.pushed', update !== undefined);
        if (update !== undefined) yield { update };
      } finally {
        span.end();
      }
    }
  } catch (error) {
    if (error instanceof ResyncRequiredError || error instanceof SlowConsumerError) yield { error };
    else throw error;
  }
}

/** A subscription field's `resolve`: the update, or the typed error that ends the stream. */
export function updateOf<Update>(payload: StreamUpdate<Update>): Update {
  if ('error' in payload) throw payload.error;
  return payload.update;
}
