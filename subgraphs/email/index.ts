import { defineSubgraph } from '../../kit/subgraph/definition.js';
import { REGISTRY } from '../registry.js';
import { EmailConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createDependencies } from './dependencies.js';
import { resolvers } from './resolvers.js';
import { receiveDeliveryWebhooks } from './webhooks.js';

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
  createDependencies,
  routes: (app, { dependencies, logger, registry }) =>
    receiveDeliveryWebhooks(app, { receivers: dependencies.providers, dependencies, logger, registry }),
  createLoaders,
});
