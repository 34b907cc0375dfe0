import type { SourceKit } from '../../kit/subgraph.js';
import { createAccountsApi } from './account-service.js';
import type { AccountsConfig } from './config.js';

/** What the resolvers and loaders reach upstream through. */
export const createSources = (config: AccountsConfig, kit: SourceKit) => ({ accounts: createAccountsApi(config, kit) });
export type Sources = ReturnType<typeof createSources>;
