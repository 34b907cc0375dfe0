import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { createFilePolicy } from './policy.js';
import { StorageConfig } from './config.js';
import { createS3Api } from './s3.js';

/** Files: a user's objects in S3-compatible storage, presigned download and upload URLs (bounded by policy.ts). */
export const subgraph = defineSubgraph({
  name: 'storage',
  defaultPort: REGISTRY.storage.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: StorageConfig,
  resolvers,
  createSources: (config, kit) => ({ s3: createS3Api(config, kit), files: createFilePolicy(config) }),
  createLoaders,
});
