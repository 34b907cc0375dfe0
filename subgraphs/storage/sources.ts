import type { SourceKit } from '../../kit/subgraph.js';
import type { StorageConfig } from './config.js';
import { createFilePolicy } from './policy.js';
import { createS3Api } from './s3.js';

/** What the resolvers and loaders reach upstream through, and the rules of the files they hand out. */
export const createSources = (config: StorageConfig, kit: SourceKit) => ({ s3: createS3Api(config, kit), files: createFilePolicy(config) });
export type Sources = ReturnType<typeof createSources>;
