import { z } from 'zod';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { AnalyticsConfig } from './config.js';
import type { Unit, UserEvent } from './events.js';
import { providerEntry } from '../registry.js';

/** distinct_ids per stream query; Mixpanel documents no cap, we keep URLs short. */
export const STREAM_IDS_PER_CALL = 100;
/**
 * How old a query answer may be when reused. Mixpanel sends no caching headers, allows 60
 * queries an hour, and takes about a minute to make new events queryable anyway.
 */
export const QUERY_TTL_MS = 60_000;

const StreamResponse = z.object({
  status: z.literal('ok'),
  results: z.object({
    events: z.array(z.object({ event: z.string(), properties: z.record(z.string(), z.unknown()).and(z.object({ time: z.number() })) })),
  }),
});
const SegmentationResponse = z.object({
  data: z.object({ series: z.array(z.string()), values: z.record(z.string(), z.record(z.string(), z.number())) }),
});

const basic = (user: string) => `Basic ${Buffer.from(user).toString('base64')}`;
const HIDDEN_PROPERTIES = new Set(['time', '$distinct_id', 'distinct_id', '$insert_id', 'token']);

/**
 * Mixpanel Query API: 60 queries an hour and 5 at once per project, hence the small bulkhead
 * and the hourly token bucket, one for all replicas with REDIS_URL (a query past it fails
 * RATE_LIMITED at once, without a call).
 * 429 is not retried: Mixpanel sends no Retry-After and asks for waits beyond our deadline.
 */
export function createMixpanelApi(config: AnalyticsConfig, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('mixpanel').source,
    baseUrl: config.MIXPANEL_API_URL,
    headers: { authorization: basic(config.MIXPANEL_SERVICE_ACCOUNT), accept: 'application/json' },
    timeoutMs: 3000,
    deadlineMs: 6000,
    retry: { attempts: 2, on: [502, 503, 504], maxRetryAfterMs: 2000 },
    breaker: { failureRate: 0.5, minimumRequests: 10, windowMs: 30_000, consecutiveFailures: 10, halfOpenAfterMs: 10_000 },
    bulkhead: { maxConcurrent: 5, maxQueued: 50 },
    cache: { maxEntries: 1000, maxBytes: 32 * 2 ** 20 },
    // A query past the recent p95 is asked again beside it; each second attempt spends a token of the quota.
    hedge: { afterPercentile: 95, maxExtraShare: 0.05 },
    // At most 5 at once, Mixpanel's concurrency: a full hour's quota at once would allow twice it within the hour.
    rateLimit: config.MIXPANEL_QUERIES_PER_HOUR
      ? { perSecond: config.MIXPANEL_QUERIES_PER_HOUR / 3600, burst: Math.min(5, config.MIXPANEL_QUERIES_PER_HOUR), shared: true }
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
        // Not kept here: the subgraph's entity cache keeps each user's answer, dropped when they track more.
        query: { ...project, distinct_ids: JSON.stringify(userIds), from_date: fromDate, to_date: toDate },
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

export type MixpanelApi = ReturnType<typeof createMixpanelApi>;
