import { pageSize } from '../../kit/args.js';
import { requireSelf } from '../../kit/caller.js';
import { badUserInput } from '../../kit/errors.js';
import { DateTimeScalar } from '../../kit/scalars.js';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { userPrefix } from './loaders.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what a file name may not hold
const FILE_NAME = /^[^/\\\u0000-\u001f\u007f]{1,255}$/;

const cursorOf = (key: string) => Buffer.from(key).toString('base64url');

function keyAfter(cursor: string | null | undefined, prefix: string): string | undefined {
  if (!cursor) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key.startsWith(prefix)) throw badUserInput('after is not a cursor of this list', 'after');
  return key;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  User: {
    files: async ({ id }, { first, after }, { caller, loaders }) => {
      requireSelf(caller, id);
      const prefix = userPrefix(id);
      const page = await loaders.listing.load({
        userId: id,
        maxKeys: pageSize(first, 'first', 100, 20),
        startAfter: keyAfter(after, prefix),
      });
      const last = page.objects.at(-1);
      return {
        nodes: page.objects.map((o) => ({ ...o, name: o.key.slice(prefix.length) })),
        pageInfo: { hasNextPage: page.isTruncated, endCursor: last ? cursorOf(last.key) : null },
      };
    },
    storageUsedBytes: ({ id }, _args, { caller, loaders }) => {
      requireSelf(caller, id);
      return loaders.usedBytes(id);
    },
  },
  File: {
    contentType: async (file, _args, { loaders }) => (await loaders.metadata.load(file))?.contentType ?? null,
    downloadUrl: ({ key, name }, _args, { sources }) => sources.s3.presignGet(key, sources.files.downloadOverrides(name)).url,
  },
  Mutation: {
    createUploadUrl: (_parent, { input }, { caller, sources }) => {
      requireSelf(caller, input.userId);
      if (!FILE_NAME.test(input.fileName) || input.fileName === '.' || input.fileName === '..') {
        throw badUserInput('input.fileName must be 1 to 255 characters with no slash or control character', 'input.fileName');
      }
      const contentType = input.contentType.toLowerCase();
      const refusal = sources.files.uploadRefusal(input.size, contentType);
      if (refusal) throw badUserInput(refusal.message, `input.${refusal.field}`);
      const key = `${userPrefix(input.userId)}${input.fileName}`;
      const { url, expiresAt } = sources.s3.presignPut(key, contentType, input.size);
      const headers = [
        { name: 'Content-Type', value: contentType },
        { name: 'Content-Length', value: String(input.size) },
      ];
      return { url, method: 'PUT', headers, key, expiresAt: expiresAt.toISOString() };
    },
  },
};
