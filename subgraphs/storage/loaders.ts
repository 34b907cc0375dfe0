import { fanOut, groupBy } from '../../kit/subgraph/batch.js';
import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { LIST_MAX_KEYS, type ObjectMetadata, type ObjectPage, type StoredObject } from './s3.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import type { Dependencies } from './dependencies.js';
import { userTopic } from './events.js';
import { keepStaleness, stalenessOf } from '../../kit/state/entity-cache.js';
import { asError } from '../../kit/process/caught.js';

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

/** What a folder's total is asked as, beside its pages. */
type FolderKey = ListingKey | { userId: string; total: true };
const isTotal = (key: FolderKey): key is { userId: string; total: true } => 'total' in key;
/** A folder's total, as an object so that a stale one can be marked (kit/state/entity-cache.ts). */
interface UsedBytes {
  bytes: number;
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

export function createLoaders({ s3, listings, usage }: Dependencies) {
  /** A page of a user's folder: from the shared cache (dropped when the folder changes), else from S3. */
  const listPage = (userId: string, page: { maxKeys: number; startAfter?: string; continuationToken?: string }) =>
    listings.read(
      JSON.stringify([userId, page.startAfter ?? null, page.continuationToken ?? null]),
      [userTopic(userId)],
      () => s3.listObjects({ prefix: userPrefix(userId), ...page }),
      // A kept page from the same place answers a page as long or shorter (a total's full page serves a files page).
      (kept) => !kept.isTruncated || kept.objects.length >= page.maxKeys,
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

  /**
   * Pages of folders and folders' totals, in one batch: a total kept from the bucket's
   * notifications costs no listing; one that is not is summed from a full listing, which a
   * files page of the same user in the same request shares (one call for both).
   */
  async function loadFolders(keys: readonly FolderKey[]): Promise<Array<ObjectPage | UsedBytes | Error>> {
    const totalsAsked = [...new Set(keys.filter(isTotal).map((k) => k.userId))];
    const { totals, generations } = totalsAsked.length ? await usage.lookup(totalsAsked) : { totals: new Map(), generations: new Map() };
    const unkept = totalsAsked.filter((userId) => !totals.has(userId));
    const pageKeys = keys.filter((k): k is ListingKey => !isTotal(k));
    const pages = await loadListings([...pageKeys, ...unkept.map((userId) => ({ userId, maxKeys: LIST_MAX_KEYS }))]);
    const byTotal = new Map<string, UsedBytes | Error>([...totals].map(([userId, bytes]) => [userId, { bytes }]));
    await Promise.all(
      unkept.map(async (userId, i) => {
        byTotal.set(userId, await sumOf(userId, pages[pageKeys.length + i]!, generations.get(userId)).catch(asError));
      }),
    );
    const byPage = new Map(pageKeys.map((key, i) => [key, pages[i]!]));
    return keys.map((key) => (isTotal(key) ? byTotal.get(key.userId)! : byPage.get(key)!));
  }

  /** The bytes of a folder from its first page and the pages after it, kept unless a page was answered stale. */
  async function sumOf(userId: string, first: ObjectPage | Error, generation: string | undefined): Promise<UsedBytes> {
    if (first instanceof Error) throw first;
    let page = first;
    const objects = [...page.objects];
    let staleFrom = stalenessOf(page) ? page : undefined;
    while (page.isTruncated && page.nextContinuationToken) {
      page = await listPage(userId, { maxKeys: LIST_MAX_KEYS, continuationToken: page.nextContinuationToken });
      objects.push(...page.objects);
      staleFrom ??= stalenessOf(page) ? page : undefined;
    }
    const bytes = objects.reduce((sum, o) => sum + o.size, 0);
    if (staleFrom) return keepStaleness({ bytes }, staleFrom);
    if (generation !== undefined) await usage.keep(userId, generation, objects, bytes);
    return { bytes };
  }

  const folder = createLoader<FolderKey, ObjectPage | UsedBytes, string>(loadFolders, {
    cacheKeyFn: (k) => (isTotal(k) ? JSON.stringify([k.userId, 'total']) : JSON.stringify([k.userId, k.maxKeys, k.startAfter ?? null])),
    name: 'storage.folder',
  });

  return {
    /** A page of a user's folder. */
    listing: { load: (key: ListingKey) => folder.load(key) as Promise<ObjectPage> },
    /** Bytes used by a user. Asked for in the caller's tick, so it joins the batch of that user's files page. */
    usedBytes: async (userId: string) => ((await folder.load({ userId, total: true })) as UsedBytes).bytes,
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
