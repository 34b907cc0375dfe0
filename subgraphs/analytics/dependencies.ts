import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { invalidating } from '../../kit/subgraph/invalidation.js';
import type { AnalyticsConfig } from './config.js';
import { createMixpanelApi } from './mixpanel.js';
import { createSegmentApi } from './segment.js';
import { createTrackOutbox } from './track-outbox.js';
import { ANALYTICS_EVENTS, analyticsTopicsOf, type UserEvent } from './events.js';

/** How long a user's recent events are served without asking Mixpanel again: the schema's @cacheControl (60 s). */
const RECENT_EVENTS_TTL_MS = 60_000;

/** What the resolvers and loaders reach upstream through, and what the replicas share. */
export function createDependencies(config: AnalyticsConfig, resources: SubgraphResources) {
  const segment = createSegmentApi(config, resources);
  const events = resources.events('analytics', ANALYTICS_EVENTS, analyticsTopicsOf);
  /** Each user's recent events as Mixpanel answers them; dropped when the user tracks more. */
  const recentEvents = resources.entityCache<UserEvent[]>('analytics.recentEvents', { ttlMs: RECENT_EVENTS_TTL_MS });
  resources.keepFresh(events, [invalidating(analyticsTopicsOf, [recentEvents])]);
  return {
    segment,
    mixpanel: createMixpanelApi(config, resources),
    recentEvents,
    /** Tracked events on their way to Segment. */
    outbox: createTrackOutbox(config, segment, resources),
    /** The analytics domain's event stream, shared by the replicas with REDIS_URL. */
    events,
  };
}
export type Dependencies = ReturnType<typeof createDependencies>;
