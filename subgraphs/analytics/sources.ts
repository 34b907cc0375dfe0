import type { SourceKit } from '../../kit/subgraph.js';
import type { AnalyticsConfig } from './config.js';
import { createMixpanelApi } from './mixpanel.js';
import { createSegmentApi } from './segment.js';
import { createTrackOutbox } from './track-outbox.js';

/** What the resolvers and loaders reach upstream through. */
export function createSources(config: AnalyticsConfig, kit: SourceKit) {
  const segment = createSegmentApi(config, kit);
  return {
    segment,
    mixpanel: createMixpanelApi(config, kit),
    /** Tracked events on their way to Segment. */
    outbox: createTrackOutbox(config, segment, kit),
  };
}
export type Sources = ReturnType<typeof createSources>;
