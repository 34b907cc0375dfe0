import { createIdempotencyStore } from '../../kit/state/idempotency.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { invalidating } from '../../kit/subgraph/invalidation.js';
import type { StorageConfig } from './config.js';
import { STORAGE_EVENTS, storageTopicsOf } from './events.js';
import { createFilePolicy } from './policy.js';
import { createFolderUsage } from './usage.js';
import { createS3Api, type ObjectPage } from './s3.js';

/** How long a listing is served without asking storage again: as long as the schema lets clients keep files (@cacheControl). */
const LISTING_TTL_MS = 30_000;

/** What the resolvers, loaders and notification route reach: the bucket, the rules of its files, and what replicas share. */
export function createDependencies(config: StorageConfig, resources: SubgraphResources) {
  const events = resources.events('storage', STORAGE_EVENTS, storageTopicsOf);
  /** Pages of users' folders, shared by the replicas with REDIS_URL; an upload or a deletion in a folder drops its pages. */
  const listings = resources.entityCache<ObjectPage>('storage.listings', { ttlMs: LISTING_TTL_MS });
  const usage = createFolderUsage({ redis: resources.redis(), logger: resources.logger });
  resources.keepFresh(events, [invalidating(storageTopicsOf, [listings]), usage.applier]);
  return {
    s3: createS3Api(config, resources),
    files: createFilePolicy(config),
    listings,
    /** Bytes in each user's folder, kept from the bucket's notifications. */
    usage,
    /** Notifications already applied, shared by the replicas with REDIS_URL. */
    keys: createIdempotencyStore(resources.redis()),
    /** The storage domain's event stream, shared by the replicas with REDIS_URL. */
    events,
  };
}
export type Dependencies = ReturnType<typeof createDependencies>;
