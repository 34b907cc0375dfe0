import { LOCAL } from '../../kit/local-defaults.js';
import { defineSubgraph } from '../../kit/subgraph.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { createAccountsApi } from './account-service.js';
import { AccountsConfig } from './config.js';

/** Users: our own account service. Owns the User entity's identity fields. */
export const accounts = defineSubgraph({
  name: 'accounts',
  defaultPort: LOCAL.ports.accounts,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: AccountsConfig,
  resolvers,
  createSources: (config, kit) => ({ accounts: createAccountsApi(config, kit) }),
  createLoaders,
});
