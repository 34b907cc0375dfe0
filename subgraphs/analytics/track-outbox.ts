import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import { DiskOutboxStore } from '../../kit/state/outbox-disk-store.js';
import { RedisOutboxStore } from '../../kit/state/outbox-redis-store.js';
import { Outbox } from '../../kit/state/outbox.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { AnalyticsConfig } from './config.js';
import { TrackedEvent } from './events.js';
import { SEGMENT_BATCH_EVENTS, type SegmentApi } from './segment.js';

/**
 * Tracked events go through a durable outbox to Segment: `track` answers once they are on
 * disk; delivery follows in batches, with Segment's messageId making every resend harmless.
 */
export function createTrackOutbox(config: AnalyticsConfig, segment: SegmentApi, resources: SubgraphResources) {
  const redis = resources.redis();
  const outbox = new Outbox<TrackedEvent>({
    name: 'track',
    registry: resources.registry,
    store: redis ? new RedisOutboxStore(redis, 'track', TrackedEvent) : new DiskOutboxStore(config.OUTBOX_DIR, TrackedEvent),
    batchSize: SEGMENT_BATCH_EVENTS,
    logger: resources.logger,
    // Shared by the replicas: what one that died left is taken over by the others.
    ...(redis ? { rescanMs: config.OUTBOX_RESCAN_MS } : {}),
    async deliver(items) {
      try {
        await segment.batch(items.map((item) => item.payload));
        return 'delivered';
      } catch (error) {
        // 400/413: Segment refuses these events as they are; anything else may pass later.
        return error instanceof UpstreamError && error.code === UpstreamErrorCode.REJECTED ? 'rejected' : 'retry-later';
      }
    },
  });
  // Before Segment's source and Redis close: what is queued gets its last chance to go out.
  resources.onClose(() => outbox.close());
  return outbox;
}
export type TrackOutbox = ReturnType<typeof createTrackOutbox>;
