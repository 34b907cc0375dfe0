import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { providerEntry, sandboxUrl } from '../registry.js';

/** Where the account service is and how to authenticate to it. */
export const AccountsConfig = z.object({
  ACCOUNTS_API_URL: env.upstreamUrl(sandboxUrl('accounts')),
  ACCOUNTS_API_TOKEN: env.secret(providerEntry('accounts').credentials.token),
});
export type AccountsConfig = z.infer<typeof AccountsConfig>;
