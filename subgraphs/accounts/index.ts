import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { createSources } from './sources.js';
import { resolvers } from './resolvers.js';
import { AccountsConfig } from './config.js';

/** Users: our own account service. Owns the User entity's identity fields. */
export const subgraph = defineSubgraph({
  name: 'accounts',
  defaultPort: REGISTRY.accounts.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: AccountsConfig,
  resolvers,
  createSources,
  createLoaders,
});
