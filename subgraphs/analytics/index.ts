import { defineSubgraph } from '../../kit/subgraph/definition.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { createDependencies } from './dependencies.js';
import { resolvers } from './resolvers.js';
import { AnalyticsConfig } from './config.js';

/** Analytics: tracking events (Segment ingest) and reading them back (Mixpanel query). */
export const subgraph = defineSubgraph({
  name: 'analytics',
  defaultPort: REGISTRY.analytics.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: AnalyticsConfig,
  resolvers,
  createDependencies,
  createLoaders,
});
