import { LOCAL } from '../../kit/local-defaults.js';
import type { ClientConfig } from './types.js';

/** Schema details help web developers, and nobody else: off when NODE_ENV is production. */
const development = process.env.NODE_ENV !== 'production';

/** The web app: ad-hoc queries from browsers, introspection for its developers. */
export const web: ClientConfig = {
  name: 'web',
  defaultPort: LOCAL.ports.web,
  subgraphs: ['accounts', 'email', 'storage', 'analytics'],
  fieldSuggestions: development,
  introspection: development,
  corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  limits: { depth: 8, aliases: 15, tokens: 2000, cost: 2000 },
  maxBodyBytes: 100 * 1024,
  forwardHeaders: ['accept-language', 'idempotency-key'],
  subgraphTimeoutMs: 8000,
};
