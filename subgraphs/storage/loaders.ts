import { fanOut, groupBy } from '../../kit/subgraph/batch.js';
import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { LIST_MAX_KEYS, type ObjectMetadata, type ObjectPage, type StoredObject } from './s3.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import type { Dependencies } from './dependencies.js';
import { userTopic } from './events.js';
import { keepStaleness } from '../../kit/state/entity-cache.js';
import { reportStaleness } from '../../kit/subgraph/staleness.js';

/** A file as resolvers see it: the listed object plus its name within the user's folder. */
export interface FileRecord extends StoredObject {
  name: string;
}

/** One page of a user's listing: up to `maxKeys` objects after `startAfter`. */
export interface ListingKey {
  userId: string;
  maxKeys: number;
  startAfter?: string;
}

/** S3 has no multi-prefix listing: one call per user prefix, at most this many at once per request. */
const FAN_OUT = 16;

export const userPrefix = (userId: string) => `users/${userId}/`;
/** Whose folder a key is in, or undefined for a key outside every user's. */
export const ownerOf = (key: string) => /^users\/([^/]+)\/./s.exec(key)?.[1];

/** The first `maxKeys` objects of a longer page, with the page's "more" flag adjusted. */
function firstOf(page: ObjectPage, maxKeys: number): ObjectPage {
  if (page.objects.length <= maxKeys) return page;
  return keepStaleness({ objects: page.objects.slice(0, maxKeys), isTruncated: true }, page);
}

export function createLoaders({ s3, listings }: Dependencies) {
  /** A page of a user's folder: from the shared cache (dropped when the folder changes), else from S3. */
  const listPage = (userId: string, page: { maxKeys: number; startAfter?: string; continuationToken?: string }) =>
    listings.read(
      JSON.stringify([userId, page.maxKeys, page.startAfter ?? null, page.continuationToken ?? null]),
      [userTopic(userId)],
      () => s3.listObjects({ prefix: userPrefix(userId), ...page }),
    );

  /**
   * Pages of user listings. Keys that start at the same place in the same user's folder
   * (a files page and the storage total of one user) share one call, made for the largest
   * page any of them asks for; distinct prefixes fan out, capped per request.
   */
  async function loadListings(keys: readonly ListingKey[]): Promise<Array<ObjectPage | Error>> {
    const groups = [...groupBy(keys, (k) => JSON.stringify([k.userId, k.startAfter ?? null])).values()];
    const pages = await fanOut(groups, FAN_OUT, (group) =>
      listPage(group[0]!.userId, { maxKeys: Math.max(...group.map((k) => k.maxKeys)), startAfter: group[0]!.startAfter }),
    );
    const byKey = new Map<ListingKey, ObjectPage | Error>();
    groups.forEach((group, i) => {
      const page = pages[i]!;
      for (const key of group) byKey.set(key, page instanceof Error ? page : firstOf(page, key.maxKeys));
    });
    return keys.map((k) => byKey.get(k)!);
  }

  const listing = createLoader<ListingKey, ObjectPage, string>(loadListings, {
    cacheKeyFn: (k) => JSON.stringify([k.userId, k.maxKeys, k.startAfter ?? null]),
    name: 'storage.listing',
  });

  return {
    listing,
    /**
     * Bytes used by a user: the sum over every page of the user's listing. The first page
     * is asked for in the caller's tick, so it joins the batch of that user's files page.
     */
    async usedBytes(userId: string): Promise<number> {
      let page = await listing.load({ userId, maxKeys: LIST_MAX_KEYS });
      let total = page.objects.reduce((sum, o) => sum + o.size, 0);
      while (page.isTruncated && page.nextContinuationToken) {
        page = reportStaleness(await listPage(userId, { maxKeys: LIST_MAX_KEYS, continuationToken: page.nextContinuationToken }));
        total += page.objects.reduce((sum, o) => sum + o.size, 0);
      }
      return total;
    },
    /** Metadata listings do not carry (content type), per object version. */
    metadata: createLoader<StoredObject, ObjectMetadata | null, string>(
      (objects) => fanOut(objects, FAN_OUT, (object) => s3.objectMetadata(object)),
      // By version: a subscription's context lives on while a key is uploaded again.
      { cacheKeyFn: (o) => `${o.key}\u0000${o.etag}`, name: 'storage.metadata' },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
