import { createIdempotencyStore } from '../../kit/idempotency.js';
import { LOCAL } from '../../kit/local-defaults.js';
import { connectRedis, disconnectRedis } from '../../kit/redis.js';
import { defineSubgraph } from '../../kit/subgraph.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { EmailConfig, createMessageStatuses, createPostmarkApi, createSendgridApi, receiveWebhooks } from './source.js';

/** Email: messages sent to a user and sending new ones, over SendGrid v3. */
export const email = defineSubgraph({
  name: 'email',
  defaultPort: LOCAL.ports.email,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: EmailConfig,
  resolvers,
  createSources: (config, kit) => {
    // One Redis connection for what replicas share: idempotency keys, webhook tokens, statuses.
    const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : undefined;
    return {
      sendgrid: createSendgridApi(config, kit),
      postmark: createPostmarkApi(config, kit),
      keys: createIdempotencyStore(redis),
      statuses: createMessageStatuses(redis),
      redis: { close: () => disconnectRedis(redis) },
    };
  },
  routes: receiveWebhooks,
  createLoaders,
});
