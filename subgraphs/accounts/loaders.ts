import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { MAX_IDS_PER_CALL, type AccountUser } from './account-service.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import type { Dependencies } from './dependencies.js';

export function createLoaders({ accounts, users, userPages }: Dependencies) {
  return {
    /** Users by id: from the shared cache, else every lookup of one request becomes one `?ids=` call per 100 ids. */
    user: createLoader<string, AccountUser | null>(
      async (ids) => {
        const cached = await users.readMany(
          // The account service tells no events: its users are fresh by time alone.
          ids.map((id) => ({ key: id, tags: [] })),
          async (missing) => {
            const found = new Map((await accounts.getUsers(missing.map((i) => ids[i]!))).map((u) => [u.id, u]));
            return missing.map((i) => found.get(ids[i]!) as AccountUser);
          },
        );
        return cached.map((user) => user ?? null);
      },
      { maxBatchSize: MAX_IDS_PER_CALL, name: 'accounts.user' },
    ),
    /** A page of the user list, from the shared cache or the account service. */
    userPage: (limit: number, cursor: string | undefined) =>
      userPages.read(JSON.stringify([limit, cursor ?? null]), [], () => accounts.listUsers(limit, cursor)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
