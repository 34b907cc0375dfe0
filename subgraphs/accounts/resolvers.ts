import { pageSize } from '../../kit/args.js';
import { DateTimeScalar } from '../../kit/scalars.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    user: (_parent, { id }, { loaders }) => loaders.user.load(id),
    users: async (_parent, { first, after }, { sources, loaders }) => {
      const limit = pageSize(first, 'first', 100, 20);
      const page = await sources.accounts.listUsers(limit, after ?? undefined);
      for (const user of page.users) loaders.user.prime(user.id, user);
      return { nodes: page.users, pageInfo: { hasNextPage: page.nextCursor !== null, endCursor: page.nextCursor } };
    },
  },
  User: {
    __resolveReference: (reference, { loaders }) => loaders.user.load(reference.id),
  },
};
