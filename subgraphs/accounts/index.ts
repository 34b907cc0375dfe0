import { defineSubgraph } from '../../kit/subgraph/definition.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { createDependencies } from './dependencies.js';
import { resolvers } from './resolvers.js';
import { AccountsConfig } from './config.js';

/** Users: our own account service. Owns the User entity's identity fields. */
export const subgraph = defineSubgraph({
  name: 'accounts',
  defaultPort: REGISTRY.accounts.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: AccountsConfig,
  resolvers,
  createDependencies,
  createLoaders,
});
