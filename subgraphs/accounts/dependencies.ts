import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { createAccountsApi, type AccountUser } from './account-service.js';
import type { AccountsConfig } from './config.js';

/** How long a user is served without asking the account service again: the schema's @cacheControl of User (60 s). */
const USER_TTL_MS = 60_000;
/** Pages of the user list: the schema's @cacheControl of Query.users (30 s). */
const USER_PAGE_TTL_MS = 30_000;

/** What the resolvers and loaders reach upstream through, and the users the replicas share. */
export function createDependencies(config: AccountsConfig, resources: SubgraphResources) {
  return {
    accounts: createAccountsApi(config, resources),
    /** Users by id (an unknown id is not kept: an account created a moment later is found). */
    users: resources.entityCache<AccountUser>('accounts.users', { ttlMs: USER_TTL_MS }),
    /** Pages of the user list, by size and cursor. */
    userPages: resources.entityCache<{ users: AccountUser[]; nextCursor: string | null }>('accounts.userPages', {
      ttlMs: USER_PAGE_TTL_MS,
    }),
  };
}
export type Dependencies = ReturnType<typeof createDependencies>;
