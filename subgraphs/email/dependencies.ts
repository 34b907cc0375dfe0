import { createIdempotencyStore } from '../../kit/state/idempotency.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { invalidating } from '../../kit/subgraph/invalidation.js';
import type { EmailConfig } from './config.js';
import { createMailProviders } from './providers.js';
import { sendgridApi } from './sendgrid.js';
import { createMessageStatuses } from './statuses.js';
import { EMAIL_EVENTS, emailTopicsOf } from './events.js';
import type { EmailMessageRecord } from './messages.js';

/** How long a message list is served without asking SendGrid again: the schema's @cacheControl of User.emailMessages (30 s). */
const MESSAGE_LIST_TTL_MS = 30_000;

/** What the resolvers, loaders and webhook routes reach upstream and shared state through. */
export function createDependencies(config: EmailConfig, resources: SubgraphResources) {
  // What replicas share (idempotency keys, webhook tokens, statuses, quotas, pauses) is in Redis when configured.
  const redis = resources.redis();
  const events = resources.events('email', EMAIL_EVENTS, emailTopicsOf);
  /**
   * Each address's latest messages (the Email Activity answer), shared by the replicas; a send to
   * the address drops them. Statuses are not part of it: they are read from the webhooks' store each time.
   */
  const messageLists = resources.entityCache<EmailMessageRecord[]>('email.messages', { ttlMs: MESSAGE_LIST_TTL_MS });
  resources.keepFresh(events, [invalidating(emailTopicsOf, [messageLists])]);
  return {
    /** SendGrid's client: the Email Activity and bounce reads (message lists come from it, whichever providers send). */
    sendgrid: sendgridApi(config, resources),
    /** The mail providers of EMAIL_PROVIDERS, in order. */
    providers: createMailProviders(config, resources),
    /** Idempotency keys of sends and webhook tokens seen, shared by replicas when REDIS_URL is set. */
    keys: createIdempotencyStore(redis),
    /** Delivery events heard by webhook. */
    statuses: createMessageStatuses(redis),
    messageLists,
    /** The email domain's event stream, shared by the replicas with REDIS_URL. */
    events,
  };
}
export type Dependencies = ReturnType<typeof createDependencies>;
