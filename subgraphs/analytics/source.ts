import { z } from 'zod';
import { env } from '../../kit/config.js';
import { RedisConfig } from '../../kit/redis.js';
import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import { DiskOutboxStore, Outbox, RedisOutboxStore } from '../../kit/outbox.js';
import { LOCAL, localUrl } from '../../kit/local-defaults.js';
import { retryAfterHeaderMs, type UpstreamResponse } from '../../kit/source.js';
import type { SourceKit } from '../../kit/subgraph.js';

export const AnalyticsConfig = RedisConfig.extend({
  SEGMENT_API_URL: env.upstreamUrl(localUrl(LOCAL.ports.sandbox.analytics), 'https://api.segment.io'),
  SEGMENT_WRITE_KEY: env.secret(LOCAL.segment.writeKey),
  MIXPANEL_API_URL: env.upstreamUrl(`${localUrl(LOCAL.ports.sandbox.analytics)}/api/query`, 'https://mixpanel.com/api/query'),
  /** Mixpanel service account, `username:secret`. */
  MIXPANEL_SERVICE_ACCOUNT: env.secret(LOCAL.mixpanel.serviceAccount, { format: [/^[^:]+:.+$/, 'must be username:secret'] }),
  MIXPANEL_PROJECT_ID: env.local(z.string().regex(/^\d+$/, 'must be a numeric project id').default(LOCAL.mixpanel.projectId)),
  /** Mixpanel's documented Query API limit per project; 0 turns the client-side limit off. */
  MIXPANEL_QUERIES_PER_HOUR: z.coerce.number().int().min(0).default(60),
  /**
   * Where tracked events wait for Segment (acknowledged only once written there): this
   * directory, one per replica on a persistent volume; with REDIS_URL, Redis instead.
   */
  OUTBOX_DIR: z.string().min(1).default('.outbox/analytics'),
  /** With REDIS_URL: how often a replica looks for events a replica that died left, to deliver them. */
  OUTBOX_RESCAN_MS: env.ms(30_000),
});
export type AnalyticsConfig = z.infer<typeof AnalyticsConfig>;

/** Segment takes up to 2500 events and 500 KB per batch call, and 32 KB per event. */
export const SEGMENT_BATCH_EVENTS = 2500;
export const SEGMENT_BATCH_BYTES = 500 * 1024;
export const SEGMENT_EVENT_BYTES = 32 * 1024;
/** distinct_ids per stream query; Mixpanel documents no cap, we keep URLs short. */
export const STREAM_IDS_PER_CALL = 100;
/**
 * How old a query answer may be when reused. Mixpanel sends no caching headers, allows 60
 * queries an hour, and takes about a minute to make new events queryable anyway.
 */
export const QUERY_TTL_MS = 60_000;

export interface TrackedEvent {
  id: string;
  userId: string;
  name: string;
  occurredAt: string;
  properties: Record<string, string>;
}

export interface UserEvent {
  userId: string;
  name: string;
  occurredAt: string;
  properties: Array<{ key: string; value: string }>;
}

export type Unit = 'hour' | 'day' | 'month';

const StreamResponse = z.object({
  status: z.literal('ok'),
  results: z.object({
    events: z.array(z.object({ event: z.string(), properties: z.record(z.string(), z.unknown()).and(z.object({ time: z.number() })) })),
  }),
});
const SegmentationResponse = z.object({
  data: z.object({ series: z.array(z.string()), values: z.record(z.string(), z.record(z.string(), z.number())) }),
});

/** Segment's X-RateLimit-Reset is the seconds to wait (unlike SendGrid's epoch second). */
export function segmentRetryAfterMs(response: UpstreamResponse): number | undefined {
  const seconds = Number(response.headers['x-ratelimit-reset']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : retryAfterHeaderMs(response);
}

const basic = (user: string) => `Basic ${Buffer.from(user).toString('base64')}`;
const HIDDEN_PROPERTIES = new Set(['time', '$distinct_id', 'distinct_id', '$insert_id', 'token']);

function toSegmentTrack(e: TrackedEvent) {
  return { type: 'track', messageId: e.id, userId: e.userId, event: e.name, timestamp: e.occurredAt, properties: e.properties };
}
/** Room for the envelope (`{"batch":[...]}`) within Segment's 500 KB. */
const BATCH_BODY_BYTES = SEGMENT_BATCH_BYTES - 64;

/** Size of one event as Segment counts it against its 32 KB limit. */
export const segmentEventBytes = (event: TrackedEvent) => Buffer.byteLength(JSON.stringify(toSegmentTrack(event)));

/** Segment HTTP Tracking API (ingest). Every event carries a messageId: retries are safe. */
export function createSegmentApi(config: AnalyticsConfig, kit: SourceKit) {
  const source = kit.source({
    name: 'analytics.segment',
    baseUrl: config.SEGMENT_API_URL,
    headers: { authorization: basic(`${config.SEGMENT_WRITE_KEY}:`) },
    timeoutMs: 2000,
    deadlineMs: 5000,
    retry: { attempts: 3, on: [429, 500, 502, 503, 504], maxRetryAfterMs: 2000 },
    retryAfterMs: segmentRetryAfterMs,
    breaker: { failureRate: 0.5, minimumRequests: 20, windowMs: 10_000, consecutiveFailures: 10, halfOpenAfterMs: 5000 },
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
          source.request({ operation: 'batch', method: 'POST', path: '/v1/batch', idempotent: true, json: { batch: items } }),
        ),
      );
    },
  };
}

/**
 * Mixpanel Query API: 60 queries an hour and 5 at once per project, hence the small bulkhead
 * and the hourly token bucket, one for all replicas with REDIS_URL (a query past it fails
 * RATE_LIMITED at once, without a call).
 * 429 is not retried: Mixpanel sends no Retry-After and asks for waits beyond our deadline.
 */
export function createMixpanelApi(config: AnalyticsConfig, kit: SourceKit) {
  // The quota is the project's: with REDIS_URL the replicas hold it together.
  kit.redis(config);
  const source = kit.source({
    name: 'analytics.mixpanel',
    baseUrl: config.MIXPANEL_API_URL,
    headers: { authorization: basic(config.MIXPANEL_SERVICE_ACCOUNT), accept: 'application/json' },
    timeoutMs: 3000,
    deadlineMs: 6000,
    retry: { attempts: 2, on: [502, 503, 504], maxRetryAfterMs: 2000 },
    breaker: { failureRate: 0.5, minimumRequests: 10, windowMs: 30_000, consecutiveFailures: 10, halfOpenAfterMs: 10_000 },
    bulkhead: { maxConcurrent: 5, maxQueued: 50 },
    cache: { maxEntries: 1000, maxBytes: 32 * 2 ** 20 },
    rateLimit: config.MIXPANEL_QUERIES_PER_HOUR
      ? { perSecond: config.MIXPANEL_QUERIES_PER_HOUR / 3600, burst: config.MIXPANEL_QUERIES_PER_HOUR, shared: true }
      : undefined,
  });
  const project = { project_id: config.MIXPANEL_PROJECT_ID };
  return {
    source,
    /** Events of many users between two dates (inclusive), oldest first. */
    async eventsOf(userIds: readonly string[], fromDate: string, toDate: string): Promise<UserEvent[]> {
      const response = await source.request({
        operation: 'streamQuery',
        path: '/stream/query',
        query: { ...project, distinct_ids: JSON.stringify(userIds), from_date: fromDate, to_date: toDate },
        cacheTtlMs: QUERY_TTL_MS,
      });
      return response.json(StreamResponse).results.events.map(({ event, properties }) => ({
        userId: String(properties.$distinct_id ?? properties.distinct_id ?? ''),
        name: event,
        occurredAt: new Date(properties.time * (properties.time > 1e12 ? 1 : 1000)).toISOString(),
        properties: Object.entries(properties)
          .filter(([key]) => !HIDDEN_PROPERTIES.has(key))
          .map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) })),
      }));
    },
    async counts(event: string, fromDate: string, toDate: string, unit: Unit): Promise<Array<{ period: string; count: number }>> {
      const response = await source.request({
        operation: 'segmentation',
        path: '/segmentation',
        query: { ...project, event, from_date: fromDate, to_date: toDate, unit, type: 'general' },
        cacheTtlMs: QUERY_TTL_MS,
      });
      const { series, values } = response.json(SegmentationResponse).data;
      const counts = values[event] ?? {};
      return series.map((period) => ({ period, count: counts[period] ?? 0 }));
    },
  };
}

export type SegmentApi = ReturnType<typeof createSegmentApi>;
export type MixpanelApi = ReturnType<typeof createMixpanelApi>;

/**
 * Tracked events go through a durable outbox to Segment: `track` answers once they are on
 * disk; delivery follows in batches, with Segment's messageId making every resend harmless.
 */
export function createTrackOutbox(config: AnalyticsConfig, segment: SegmentApi, kit: SourceKit) {
  const redis = kit.redis(config);
  const outbox = new Outbox<TrackedEvent>({
    name: 'track',
    registry: kit.registry,
    store: redis ? new RedisOutboxStore(redis, 'track') : new DiskOutboxStore(config.OUTBOX_DIR),
    batchSize: SEGMENT_BATCH_EVENTS,
    logger: kit.logger,
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
  kit.onClose(() => outbox.close());
  return outbox;
}
export type TrackOutbox = ReturnType<typeof createTrackOutbox>;
