import type { ClientConfig } from './types.js';

/**
 * The web app: ad-hoc queries from browsers (with APQ), introspection, suggestions and an IDE
 * for its developers outside production, @defer for fields behind slow providers.
 */
export const web: ClientConfig = {
  name: 'web',
  defaultPort: 4000,
  safelist: false,
  fieldSuggestions: true,
  introspection: true,
  ide: true,
  defer: true,
  corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  limits: {
    depth: 8,
    aliases: 15,
    tokens: 2000,
    selections: 1000,
    fieldRepeats: 20,
    cost: 5000,
    costMode: 'enforce',
    listSize: 10,
    documentChars: 32_768,
    variableDepth: 10,
    variableValues: 5000,
    variableChars: 65_536,
  },
  maxBodyBytes: 100 * 1024,
  forwardHeaders: ['accept-language', 'idempotency-key'],
  subgraphTimeoutMs: 8000,
};
