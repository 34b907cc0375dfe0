import DataLoader from 'dataloader';
import { fanOut } from '../../kit/batch.js';
import type { SubgraphContext } from '../../kit/subgraph.js';
import type { ObjectPage, S3Api, StoredObject } from './source.js';

export interface Sources {
  s3: S3Api;
}

/** A file as resolvers see it: the listed object plus its name within the user's folder. */
export interface FileRecord extends StoredObject {
  name: string;
}

export interface FilesPageKey {
  userId: string;
  first: number;
  startAfter?: string;
}

/** S3 has no multi-prefix listing: per-user calls, at most this many at once per request. */
const FAN_OUT = 8;

export const userPrefix = (userId: string) => `users/${userId}/`;

export function createLoaders({ s3 }: Sources) {
  return {
    filesPage: new DataLoader<FilesPageKey, ObjectPage, string>(
      (keys) =>
        fanOut(keys, FAN_OUT, (k) => s3.listObjects({ prefix: userPrefix(k.userId), maxKeys: k.first, startAfter: k.startAfter })),
      { cacheKeyFn: (k) => JSON.stringify([k.userId, k.first, k.startAfter ?? null]), name: 'storage.filesPage' },
    ),
    /** Bytes used by a user: the sum over every page of the user's listing. */
    usedBytes: new DataLoader<string, number>(
      (userIds) =>
        fanOut(userIds, FAN_OUT, async (userId) => {
          let total = 0;
          let continuationToken: string | undefined;
          do {
            const page = await s3.listObjects({ prefix: userPrefix(userId), maxKeys: 1000, continuationToken });
            for (const o of page.objects) total += o.size;
            continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
          } while (continuationToken);
          return total;
        }),
      { name: 'storage.usedBytes' },
    ),
    /** Object metadata that listings do not carry (content type). */
    head: new DataLoader<string, Awaited<ReturnType<S3Api['headObject']>>>((keys) => fanOut(keys, FAN_OUT, (key) => s3.headObject(key)), {
      name: 'storage.head',
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Sources, Loaders>;
