import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { MAX_IDS_PER_CALL, type AccountUser } from './account-service.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import type { Dependencies } from './dependencies.js';

export function createLoaders({ accounts }: Dependencies) {
  return {
    /** Users by id: every lookup of one request becomes one `?ids=` call per 100 ids. */
    user: createLoader<string, AccountUser | null>(
      async (ids) => {
        const found = new Map((await accounts.getUsers(ids)).map((u) => [u.id, u]));
        return ids.map((id) => found.get(id) ?? null);
      },
      { maxBatchSize: MAX_IDS_PER_CALL, name: 'accounts.user' },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
