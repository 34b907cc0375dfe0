import type { Logger } from '../process/logger.js';
import { messageOf } from '../process/caught.js';
import { ResyncRequiredError, SlowConsumerError, type EventOf, type EventStream, type EventTypes } from '../state/event-stream.js';
import type { EntityCache } from '../state/entity-cache.js';

/**
 * Keeps caches fresh by a domain's events: follows its stream from now on, in every process, and
 * drops from each cache what an event is about (its topics are the caches' tags: `user:<id>`...).
 * A gap (the reader fell behind, or what it would resume from is gone) clears the caches: what
 * changed meanwhile is not known. Stops when `signal` aborts.
 */
export function invalidateOnEvents<Types extends EventTypes>(
  stream: EventStream<Types>,
  tagsOf: (event: EventOf<Types>) => readonly string[],
  caches: ReadonlyArray<Pick<EntityCache<unknown>, 'invalidate' | 'clear'>>,
  { logger, signal }: { logger: Logger; signal: AbortSignal },
): Promise<void> {
  const follow = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        for await (const event of stream.follow(undefined, signal, undefined, 'internal')) {
          const tags = tagsOf(event);
          await Promise.all(caches.map((cache) => cache.invalidate(tags, event.id)));
        }
      } catch (error) {
        if (signal.aborted) return;
        for (const cache of caches) cache.clear();
        if (error instanceof ResyncRequiredError || error instanceof SlowConsumerError) continue;
        logger.warn(
          { stream: stream.name, err: messageOf(error) },
          'cache invalidation stopped reading its event stream; caches cleared, reading again',
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  };
  return follow();
}
