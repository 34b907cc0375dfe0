import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { StorageConfig } from './config.js';
import { createFilePolicy } from './policy.js';
import { createS3Api } from './s3.js';

/** What the resolvers and loaders reach upstream through, and the rules of the files they hand out. */
export const createDependencies = (config: StorageConfig, resources: SubgraphResources) => ({
  s3: createS3Api(config, resources),
  files: createFilePolicy(config),
});
export type Dependencies = ReturnType<typeof createDependencies>;
