import { pageSize } from '../../kit/subgraph/page-size.js';
import { SCOPES, requireScope, requireSelf } from '../../kit/caller/scopes.js';
import { DateTimeScalar } from '../../kit/subgraph/scalars.js';
import { reportStaleness } from '../../kit/subgraph/staleness.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_parent, _args, { caller, loaders }) => loaders.user.load(caller.userId),
    user: (_parent, { id }, { caller, loaders }) => {
      requireSelf(caller, id);
      return loaders.user.load(id);
    },
    users: async (_parent, { first, after }, { caller, loaders }) => {
      requireScope(caller, SCOPES.admin);
      const limit = pageSize(first, 'first', 100, 20);
      const page = reportStaleness(await loaders.userPage(limit, after ?? undefined));
      for (const user of page.users) loaders.user.prime(user.id, user);
      return { nodes: page.users, pageInfo: { hasNextPage: page.nextCursor !== null, endCursor: page.nextCursor } };
    },
  },
  User: {
    // Entities answer to the same rule as Query.user: a representation names any id it likes.
    // (Async: a throw fails this entity alone, not every entity of the request.)
    __resolveReference: async (reference, { caller, loaders }) => {
      requireSelf(caller, reference.id);
      return loaders.user.load(reference.id);
    },
  },
};
