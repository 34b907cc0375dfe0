import { LOCAL } from '../../kit/local-defaults.js';
import { createLogger } from '../../kit/logger.js';
import { isMainModule, runProcess } from '../../kit/service.js';
import { defineSubgraph, startSubgraph } from '../../kit/subgraph.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { StorageConfig, createS3Api } from './source.js';

/** Files: a user's objects in S3-compatible storage, presigned download and upload URLs. */
export const storage = defineSubgraph({
  name: 'storage',
  defaultPort: LOCAL.ports.storage,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: StorageConfig,
  resolvers,
  createSources: (config, kit) => ({ s3: createS3Api(config, kit) }),
  createLoaders,
});

if (isMainModule(import.meta.url)) {
  await runProcess(async () => [await startSubgraph(storage)], createLogger('subgraph-storage'));
}
