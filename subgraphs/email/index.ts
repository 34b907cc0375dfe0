import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { EmailConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createSources } from './sources.js';
import { resolvers } from './resolvers.js';
import { receiveWebhooks } from './webhooks.js';

/**
 * Email: messages sent to a user (SendGrid's Email Activity), and sending new ones through the
 * mail providers of EMAIL_PROVIDERS in order, with their delivery webhooks.
 */
export const subgraph = defineSubgraph({
  name: 'email',
  defaultPort: REGISTRY.email.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: EmailConfig,
  resolvers,
  createSources,
  routes: (app, { sources, logger, registry }) => receiveWebhooks(app, { receivers: sources.providers, sources, logger, registry }),
  createLoaders,
});
