import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { AnalyticsConfig } from './config.js';
import { createMixpanelApi } from './mixpanel.js';
import { createSegmentApi } from './segment.js';
import { createTrackOutbox } from './track-outbox.js';

/** Analytics: tracking events (Segment ingest) and reading them back (Mixpanel query). */
export const subgraph = defineSubgraph({
  name: 'analytics',
  defaultPort: REGISTRY.analytics.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: AnalyticsConfig,
  resolvers,
  createSources: (config, kit) => {
    const segment = createSegmentApi(config, kit);
    return { segment, mixpanel: createMixpanelApi(config, kit), outbox: createTrackOutbox(config, segment, kit) };
  },
  createLoaders,
});
