import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { IdempotencyStore } from '../../kit/state/idempotency.js';
import type { Logger } from '../../kit/process/logger.js';
import { receiveWebhooks } from '../../kit/subgraph/webhooks.js';
import type { EventStream } from '../../kit/state/event-stream.js';
import type { DeliveryEvent, WebhookReceiver } from './mail-provider.js';
import type { MessageStatuses } from './statuses.js';
import type { EmailEvents } from './events.js';

/**
 * Delivery-event webhooks of the mail providers the subgraph sends through (kit/subgraph/webhooks.ts
 * verifies, reads and deduplicates them; each provider's file says how its deliveries verify).
 * A delivery's status is stored, then told on the email stream as EmailMessageStatusChanged.
 */
export function receiveDeliveryWebhooks(
  app: Express,
  {
    receivers,
    dependencies,
    logger,
    registry,
  }: {
    receivers: ReadonlyArray<{ name: string; webhook: WebhookReceiver }>;
    dependencies: { statuses: MessageStatuses; keys: IdempotencyStore; events: EventStream<EmailEvents> };
    logger: Logger;
    registry: Registry;
  },
) {
  receiveWebhooks<DeliveryEvent>(app, {
    receivers,
    keys: dependencies.keys,
    logger,
    registry,
    async apply(provider, events) {
      await Promise.all(
        events.flatMap((e) => [
          ...(e.messageId && e.status ? [dependencies.statuses.record(e.messageId, e.status)] : []),
          ...(e.messageId && e.sendId ? [dependencies.statuses.linkSend(e.sendId, { messageId: e.messageId, provider })] : []),
        ]),
      );
      for (const e of events) {
        if (!e.messageId || !e.status) continue;
        await dependencies.events.append('EmailMessageStatusChanged', {
          messageId: e.messageId,
          status: e.status,
          provider,
          deliveryId: e.id,
          ...(e.recipient ? { recipient: e.recipient } : {}),
          ...(e.sendId ? { sendId: e.sendId } : {}),
        });
      }
    },
  });
}
