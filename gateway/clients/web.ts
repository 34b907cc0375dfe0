import { LOCAL } from '../../kit/local-defaults.js';
import type { ClientConfig } from './types.js';

/** The web app: ad-hoc queries from browsers, introspection for its developers. */
export const web: ClientConfig = {
  name: 'web',
  defaultPort: LOCAL.ports.web,
  subgraphs: ['accounts', 'email', 'storage', 'analytics'],
  introspection: true,
  corsOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  maxBodyBytes: 100 * 1024,
  subgraphTimeoutMs: 8000,
};
