import { createIdempotencyStore } from '../../kit/idempotency.js';
import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { EmailConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createMailProviders } from './providers.js';
import { resolvers } from './resolvers.js';
import { sendgridApi } from './sendgrid.js';
import { createMessageStatuses } from './statuses.js';
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
  createSources: (config, kit) => {
    // What replicas share (idempotency keys, webhook tokens, statuses, quotas, pauses) is in Redis when configured.
    const redis = kit.redis();
    const providers = createMailProviders(config, kit);
    return {
      // Message lists come from SendGrid's Email Activity, whichever providers send.
      sendgrid: sendgridApi(config, kit),
      providers,
      keys: createIdempotencyStore(redis),
      statuses: createMessageStatuses(redis),
    };
  },
  routes: (app, { sources, logger, registry }) => receiveWebhooks(app, { receivers: sources.providers, sources, logger, registry }),
  createLoaders,
});
