import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { createAccountsApi } from './account-service.js';
import type { AccountsConfig } from './config.js';

/** What the resolvers and loaders reach upstream through. */
export const createDependencies = (config: AccountsConfig, resources: SubgraphResources) => ({
  accounts: createAccountsApi(config, resources),
});
export type Dependencies = ReturnType<typeof createDependencies>;
