import { createIdempotencyStore } from '../../kit/idempotency.js';
import { defineSubgraph } from '../../kit/subgraph.js';
import { REGISTRY } from '../registry.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { EmailConfig } from './config.js';
import { createPostmarkApi } from './postmark.js';
import { createSendgridApi } from './sendgrid.js';
import { createMessageStatuses } from './statuses.js';
import { receiveWebhooks } from './webhooks.js';

/** Email: messages sent to a user and sending new ones, through SendGrid with Postmark as the fallback; delivery webhooks of both (and Mailgun's). */
export const subgraph = defineSubgraph({
  name: 'email',
  defaultPort: REGISTRY.email.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: EmailConfig,
  resolvers,
  createSources: (config, kit) => {
    // What replicas share (idempotency keys, webhook tokens, statuses) is in Redis when configured.
    const redis = kit.redis(config);
    return {
      sendgrid: createSendgridApi(config, kit),
      postmark: createPostmarkApi(config, kit),
      keys: createIdempotencyStore(redis),
      statuses: createMessageStatuses(redis),
    };
  },
  routes: receiveWebhooks,
  createLoaders,
});
