import { PROVIDERS } from '../../subgraphs/registry.js';
import { LOCAL } from './local-defaults.js';

/**
 * Every credential committed to this repository: the sandbox providers' and local development's.
 * A deployment that sets one of these has copied a local development value: with
 * NODE_ENV=production it is refused, whatever variable holds it.
 */
export const COMMITTED_SECRETS: ReadonlySet<string> = new Set([
  ...PROVIDERS.flatMap((provider) => Object.values(provider.credentials)),
  LOCAL.auth.jwtSecret,
  LOCAL.auth.internalTokenSecret,
]);
