import type { Logger } from '../process/logger.js';
import { messageOf } from '../process/caught.js';
import { ResyncRequiredError, SlowConsumerError, type EventOf, type EventStream, type EventTypes } from '../state/event-stream.js';
import type { EntityCache } from '../state/entity-cache.js';

/** What keeps state derived from a domain's events: applies each one, and starts over after a gap. */
export interface EventApplier<Types extends EventTypes> {
  apply(event: EventOf<Types>): Promise<void>;
  /** Events may have been missed (the reader fell behind, or what it would resume from is gone): nothing applied so far is sure. */
  reset(): void | Promise<void>;
}

/**
 * Makes stale in each cache what an event is about (its topics are the caches' tags: `user:<id>`...),
 * under the event's id, so that every replica applying it writes the same generation.
 */
export function invalidating<Types extends EventTypes>(
  tagsOf: (event: EventOf<Types>) => readonly string[],
  caches: ReadonlyArray<Pick<EntityCache<unknown>, 'invalidate' | 'clear'>>,
): EventApplier<Types> {
  return {
    apply: async (event) => {
      const tags = tagsOf(event);
      await Promise.all(caches.map((cache) => cache.invalidate(tags, event.id)));
    },
    reset: () => caches.forEach((cache) => cache.clear()),
  };
}

/**
 * Keeps state fresh by a domain's events: follows its stream from now on, in every process, and
 * hands each event to every applier. A gap resets them. Stops when `signal` aborts.
 */
export function applyEvents<Types extends EventTypes>(
  stream: EventStream<Types>,
  appliers: ReadonlyArray<EventApplier<Types>>,
  { logger, signal }: { logger: Logger; signal: AbortSignal },
): Promise<void> {
  const reset = () =>
    Promise.all(appliers.map((applier) => applier.reset())).catch((error: unknown) =>
      logger.warn({ stream: stream.name, err: messageOf(error) }, 'state kept from an event stream could not be reset'),
    );
  const follow = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        for await (const event of stream.follow(undefined, signal, undefined, 'internal')) {
          await Promise.all(appliers.map((applier) => applier.apply(event)));
        }
      } catch (error) {
        if (signal.aborted) return;
        await reset();
        if (error instanceof ResyncRequiredError || error instanceof SlowConsumerError) continue;
        logger.warn(
          { stream: stream.name, err: messageOf(error) },
          'state kept from an event stream stopped reading it; reset, reading again',
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  };
  return follow();
}
