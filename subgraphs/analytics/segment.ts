import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { retryAfterHeaderMs, type UpstreamResponse } from '../../kit/source/response.js';
import type { AnalyticsConfig } from './config.js';
import type { TrackedEvent } from './events.js';
import { providerEntry } from '../registry.js';

/** Segment takes up to 2500 events and 500 KB per batch call, and 32 KB per event. */
export const SEGMENT_BATCH_EVENTS = 2500;
export const SEGMENT_BATCH_BYTES = 500 * 1024;
export const SEGMENT_EVENT_BYTES = 32 * 1024;
/** Segment's X-RateLimit-Reset is the seconds to wait (unlike SendGrid's epoch second). */
export function segmentRetryAfterMs(response: UpstreamResponse): number | undefined {
  const seconds = Number(response.headers['x-ratelimit-reset']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : retryAfterHeaderMs(response);
}

const basic = (user: string) => `Basic ${Buffer.from(user).toString('base64')}`;

function toSegmentTrack(e: TrackedEvent) {
  return {
    type: 'track',
    messageId: e.messageId ?? e.id,
    userId: e.userId,
    event: e.name,
    timestamp: e.occurredAt,
    properties: e.properties,
  };
}
/** Room for the envelope (`{"batch":[...]}`) within Segment's 500 KB. */
const BATCH_BODY_BYTES = SEGMENT_BATCH_BYTES - 64;

/** Size of one event as Segment counts it against its 32 KB limit. */
export const segmentEventBytes = (event: TrackedEvent) => Buffer.byteLength(JSON.stringify(toSegmentTrack(event)));

/** Segment HTTP Tracking API (ingest). Every event carries a messageId: retries are safe. */
export function createSegmentApi(config: AnalyticsConfig, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('segment').source,
    baseUrl: config.SEGMENT_API_URL,
    headers: { authorization: basic(`${config.SEGMENT_WRITE_KEY}:`) },
    timeoutMs: 2000,
    deadlineMs: 5000,
    retry: { attempts: 3, on: [429, 500, 502, 503, 504], maxRetryAfterMs: 2000 },
    retryAfterMs: segmentRetryAfterMs,
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 20, maxQueued: 100 },
    // Segment's documented ceiling is 1,000 requests a second per workspace.
    rateLimit: { perSecond: 1000, burst: 100 },
  });
  return {
    source,
    /**
     * Sends events in as few calls as Segment's limits allow (2500 events, 500 KB a call).
     * An event over 32 KB is the caller's to refuse: see segmentEventBytes.
     */
    async batch(events: readonly TrackedEvent[]): Promise<void> {
      const calls: Array<{ items: unknown[]; bytes: number }> = [];
      for (const event of events) {
        const item = toSegmentTrack(event);
        const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
        const last = calls.at(-1);
        if (last && last.items.length < SEGMENT_BATCH_EVENTS && last.bytes + bytes <= BATCH_BODY_BYTES) {
          last.items.push(item);
          last.bytes += bytes;
        } else {
          calls.push({ items: [item], bytes });
        }
      }
      await Promise.all(
        calls.map(({ items }) =>
          // An outbox draining: nobody waits for it, so interactive calls of the source go first.
          source.request({
            operation: 'batch',
            method: 'POST',
            path: '/v1/batch',
            idempotent: true,
            json: { batch: items },
            priority: 'background',
          }),
        ),
      );
    },
  };
}

export type SegmentApi = ReturnType<typeof createSegmentApi>;
