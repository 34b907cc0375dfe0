import { bulkhead, type BulkheadPolicy } from 'cockatiel';

/** At most `maxConcurrent` attempts in flight and `maxQueued` waiting; past that, refused at once (UPSTREAM_OVERLOADED). */
export const bulkheadPolicy = (limits: { maxConcurrent: number; maxQueued: number } | undefined): BulkheadPolicy | undefined =>
  limits && bulkhead(limits.maxConcurrent, limits.maxQueued);
