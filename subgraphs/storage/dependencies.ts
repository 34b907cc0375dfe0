import { createIdempotencyStore } from '../../kit/state/idempotency.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { StorageConfig } from './config.js';
import { STORAGE_EVENTS, storageTopicsOf } from './events.js';
import { createFilePolicy } from './policy.js';
import { createS3Api } from './s3.js';

/** What the resolvers, loaders and notification route reach: the bucket, the rules of its files, and what replicas share. */
export const createDependencies = (config: StorageConfig, resources: SubgraphResources) => ({
  s3: createS3Api(config, resources),
  files: createFilePolicy(config),
  /** Notifications already applied, shared by the replicas with REDIS_URL. */
  keys: createIdempotencyStore(resources.redis()),
  /** The storage domain's event stream, shared by the replicas with REDIS_URL. */
  events: resources.events('storage', STORAGE_EVENTS, storageTopicsOf),
});
export type Dependencies = ReturnType<typeof createDependencies>;
