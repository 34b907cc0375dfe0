import { defineSubgraph } from '../../kit/subgraph/definition.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { createDependencies } from './dependencies.js';
import { resolvers } from './resolvers.js';
import { StorageConfig } from './config.js';
import { receiveNotifications } from './notifications.js';

/**
 * Files: a user's objects in S3-compatible storage, presigned download and upload URLs (bounded
 * by policy.ts), and the bucket's event notifications, pushed to subscribers.
 */
export const subgraph = defineSubgraph({
  name: 'storage',
  defaultPort: REGISTRY.storage.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: StorageConfig,
  resolvers,
  createDependencies,
  routes: (app, { config, dependencies, logger, registry }) => receiveNotifications(app, { config, dependencies, logger, registry }),
  createLoaders,
});
