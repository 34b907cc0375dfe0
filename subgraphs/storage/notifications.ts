import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../../kit/process/logger.js';
import { receiveWebhooks, type WebhookEvent, type WebhookReceiver } from '../../kit/subgraph/webhooks.js';
import { safeEqual } from '../../kit/subgraph/webhook-signatures.js';
import { providerEntry } from '../registry.js';
import type { StorageConfig } from './config.js';
import type { Dependencies } from './dependencies.js';
import { ownerOf } from './loaders.js';

/** One object change a bucket notification told: created or deleted, and when. */
export interface ObjectChange extends WebhookEvent {
  change: 'created' | 'deleted' | 'other';
  key: string;
  size: number;
  etag: string;
  at: string;
}

/**
 * S3's event as EventBridge delivers it (`detail-type` "Object Created" / "Object Deleted",
 * `source` aws.s3), one per POST from an API destination. Only what is read is declared.
 */
const S3Event = z.object({
  id: z.string().min(1).max(200),
  'detail-type': z.string(),
  source: z.literal('aws.s3'),
  time: z.iso.datetime({ offset: true }),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string().min(1).max(1024),
      size: z.number().int().min(0).optional(),
      etag: z.string().optional(),
    }),
  }),
});

const CHANGES: Record<string, ObjectChange['change']> = { 'Object Created': 'created', 'Object Deleted': 'deleted' };

/**
 * The bucket's event notifications, as an EventBridge rule on the bucket's events sends them
 * through an API destination: its connection's API key in `x-api-key` (S3_EVENTS_API_KEY; any
 * other is refused with the body unread), one S3 event per body. An event of another bucket
 * is refused as not this subgraph's; kinds other than created and deleted are taken and ignored.
 */
export function s3EventsReceiver(config: StorageConfig): WebhookReceiver<ObjectChange> {
  return {
    path: '/webhooks/s3',
    admit(header) {
      if (!safeEqual(header('x-api-key') ?? '', config.S3_EVENTS_API_KEY)) return { refuse: 'forged' };
      return {
        read(body) {
          let json: unknown;
          try {
            json = JSON.parse(body.buffer().toString('utf8'));
          } catch {
            return 'malformed';
          }
          const parsed = S3Event.safeParse(json);
          if (!parsed.success || parsed.data.detail.bucket.name !== config.S3_BUCKET) return 'malformed';
          const { id, time, detail } = parsed.data;
          return [
            {
              id,
              change: CHANGES[parsed.data['detail-type']] ?? 'other',
              key: detail.object.key,
              size: detail.object.size ?? 0,
              etag: detail.object.etag ? `"${detail.object.etag.replace(/"/g, '')}"` : '',
              at: new Date(time).toISOString(),
            },
          ];
        },
      };
    },
  };
}

/**
 * The bucket's notifications, verified, deduplicated and read by kit/subgraph/webhooks.ts: each
 * change to an object in a user's folder is told on the storage stream, once.
 */
export function receiveNotifications(
  app: Express,
  { config, dependencies, logger, registry }: { config: StorageConfig; dependencies: Dependencies; logger: Logger; registry: Registry },
) {
  receiveWebhooks<ObjectChange>(app, {
    receivers: [{ name: providerEntry('s3').name, webhook: s3EventsReceiver(config) }],
    keys: dependencies.keys,
    logger,
    registry,
    async apply(_provider, changes) {
      for (const { id: notificationId, change, key, size, etag, at } of changes) {
        const userId = ownerOf(key);
        if (!userId || change === 'other') continue;
        if (change === 'created') await dependencies.events.append('StoredObjectCreated', { key, userId, size, etag, at, notificationId });
        else await dependencies.events.append('StoredObjectDeleted', { key, userId, at, notificationId });
      }
    },
  });
}
