import { pageSize } from '../../kit/subgraph/page-size.js';
import { requireSelf } from '../../kit/caller/scopes.js';
import { badUserInput } from '../../kit/errors.js';
import { DateTimeScalar } from '../../kit/subgraph/scalars.js';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { userPrefix } from './loaders.js';
import { messageOf } from '../../kit/process/caught.js';
import { followUpdates, updateOf } from '../../kit/subgraph/subscriptions.js';
import { userTopic } from './events.js';

/**
 * What a file name may not hold: slashes (it is a key's last part), control characters (C0,
 * DEL, C1), bidirectional formatting (`a\u202Egnp.txt` shows as `atxt.png`: an extension that
 * lies), invisible formatting (zero-width, BOM, soft hyphen), line or paragraph separators
 * and lone surrogates (no UTF-8 for a key).
 * Refused, not stripped: a name changed behind the user's back is not the name they gave.
 */
const FORBIDDEN_IN_FILE_NAME = /[/\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Why a file name is refused, or undefined. */
export function fileNameRefusal(name: string): string | undefined {
  if (name.length < 1 || name.length > 255) return 'input.fileName must be 1 to 255 characters';
  if (name === '.' || name === '..') return 'input.fileName may not be . or ..';
  if (FORBIDDEN_IN_FILE_NAME.test(name))
    return 'input.fileName may not hold a slash, a control character or an invisible or bidirectional formatting character';
  return undefined;
}

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
    downloadUrl: ({ key, name }, _args, { dependencies }) =>
      dependencies.s3.presignGet(key, dependencies.files.downloadOverrides(name)).url,
  },
  Subscription: {
    storedObjectCreated: {
      subscribe: (_parent, { userId, after }, { caller, dependencies, signal }) => {
        const owner = userId ?? caller.userId;
        requireSelf(caller, owner);
        const prefix = userPrefix(owner);
        return followUpdates(
          dependencies.events,
          after,
          signal,
          (event) => {
            if (event.type !== 'StoredObjectCreated' || event.data.userId !== owner) return undefined;
            const { key, size, etag, at } = event.data;
            const file = { key, name: key.slice(prefix.length), size, etag, lastModified: at };
            return { eventId: event.id, file, owner: { id: owner } };
          },
          userTopic(owner),
        );
      },
      resolve: updateOf,
    },
  },
  Mutation: {
    createUploadUrl: async (_parent, { input }, { caller, dependencies, logger }) => {
      requireSelf(caller, input.userId);
      const nameRefusal = fileNameRefusal(input.fileName);
      if (nameRefusal) throw badUserInput(nameRefusal, 'input.fileName');
      const contentType = input.contentType.toLowerCase();
      const refusal = dependencies.files.uploadRefusal(input.size, contentType);
      if (refusal) throw badUserInput(refusal.message, `input.${refusal.field}`);
      const key = `${userPrefix(input.userId)}${input.fileName}`;
      const { url, expiresAt } = dependencies.s3.presignPut(key, contentType, input.size);
      // Told, not depended on: without it a listing may lag the upload by its notification.
      await dependencies.events
        .append('UploadUrlIssued', { key, userId: input.userId, expiresAt: expiresAt.toISOString() })
        .catch((error: unknown) => logger.warn({ key, err: messageOf(error) }, 'an upload URL was not told on the event stream'));
      const headers = [
        { name: 'Content-Type', value: contentType },
        { name: 'Content-Length', value: String(input.size) },
      ];
      return { url, method: 'PUT', headers, key, expiresAt: expiresAt.toISOString() };
    },
  },
};
