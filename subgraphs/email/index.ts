import { createReplayGuard } from '../../kit/webhooks.js';
import { createIdempotencyStore } from '../../kit/idempotency.js';
import { LOCAL } from '../../kit/local-defaults.js';
import { defineSubgraph } from '../../kit/subgraph.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { EmailConfig, createPostmarkApi, createSendgridApi, createMessageStatuses, receiveWebhooks } from './source.js';

/** Email: messages sent to a user and sending new ones, over SendGrid v3. */
export const email = defineSubgraph({
  name: 'email',
  defaultPort: LOCAL.ports.email,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: EmailConfig,
  resolvers,
  createSources: (config, kit) => ({
    sendgrid: createSendgridApi(config, kit),
    postmark: createPostmarkApi(config, kit),
    sends: createIdempotencyStore(config.REDIS_URL),
    statuses: createMessageStatuses(config.REDIS_URL),
    replays: createReplayGuard(config.WEBHOOK_TOLERANCE_SECONDS, config.REDIS_URL),
  }),
  routes: receiveWebhooks,
  createLoaders,
});

