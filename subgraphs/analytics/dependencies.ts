import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { AnalyticsConfig } from './config.js';
import { createMixpanelApi } from './mixpanel.js';
import { createSegmentApi } from './segment.js';
import { createTrackOutbox } from './track-outbox.js';
import { ANALYTICS_EVENTS, analyticsTopicsOf } from './events.js';

/** What the resolvers and loaders reach upstream through. */
export function createDependencies(config: AnalyticsConfig, resources: SubgraphResources) {
  const segment = createSegmentApi(config, resources);
  return {
    segment,
    mixpanel: createMixpanelApi(config, resources),
    /** Tracked events on their way to Segment. */
    outbox: createTrackOutbox(config, segment, resources),
    /** The analytics domain's event stream, shared by the replicas with REDIS_URL. */
    events: resources.events('analytics', ANALYTICS_EVENTS, analyticsTopicsOf),
  };
}
export type Dependencies = ReturnType<typeof createDependencies>;
