import type { ClientConfig } from './types.js';

/** The mobile apps: native clients with fixed operations; no browser origins, no introspection. */
export const mobile: ClientConfig = {
  name: 'mobile',
  defaultPort: 4001,
  // Only what the apps use: fields and types tagged "mobile" in the subgraph SDLs.
  contract: { include: ['mobile'] },
  safelist: true,
  fieldSuggestions: false,
  introspection: false,
  ide: false,
  defer: false,
  corsOrigins: [],
  limits: {
    depth: 6,
    aliases: 5,
    tokens: 500,
    selections: 500,
    fieldRepeats: 10,
    cost: 1000,
    costMode: 'enforce',
    listSize: 10,
    documentChars: 16_384,
    variableDepth: 8,
    variableValues: 2000,
    variableChars: 16_384,
  },
  maxBodyBytes: 16 * 1024,
  forwardHeaders: ['accept-language', 'idempotency-key', 'x-app-version'],
  subgraphTimeoutMs: 6000,
};
