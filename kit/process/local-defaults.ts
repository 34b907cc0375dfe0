/**
 * The secrets of local development that are no provider's (those are in
 * subgraphs/registry.ts) and no client's (gateway/clients/): production sets its own.
 */
export const LOCAL = {
  /** Local development only: tokens signed with these are refused by any real deployment. */
  auth: {
    jwtSecret: 'local-development-jwt-secret-change-me-0001',
    issuer: 'patchbay-local',
    audience: 'patchbay',
    internalTokenSecret: 'local-development-internal-token-secret-0001',
  },
} as const;

export const localUrl = (port: number) => `http://127.0.0.1:${port}`;
