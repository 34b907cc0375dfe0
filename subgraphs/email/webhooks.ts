import { createHash } from 'node:crypto';
import express, { type Express, type Response } from 'express';
import type { Registry } from 'prom-client';
import { metricsIn } from '../../kit/metrics.js';
import { z } from 'zod';
import { appliedEvents, type IdempotencyStore } from '../../kit/idempotency.js';
import type { Logger } from '../../kit/logger.js';
import { errorJson } from '../../kit/service.js';
import { basicCredentials, hmacSha256Hex, isFresh, safeEqual, verifyEcdsaP256 } from '../../kit/webhooks.js';
import type { EmailConfig } from './config.js';
import type { MessageStatus, MessageStatuses } from './statuses.js';
import { messageOf } from '../../kit/thrown.js';

/** One delivery event as every provider's webhook comes down to it. */
interface DeliveryEvent {
  /** What identifies the event at its provider: its own id, or what it is about and when. */
  id: string;
  messageId?: string;
  status?: MessageStatus;
  /** Our id of the send, when the message carries it back (custom args, metadata). */
  sendId?: string;
}

/** Longer than providers retry a webhook (SendGrid: up to a day or more): a retry is known as one. */
const APPLIED_RETENTION_MS = 72 * 3_600_000;
/** How long a provider should wait before sending a webhook again when its events could not be stored. */
const RETRY_AFTER_SECONDS = 30;

const SENDGRID_EVENTS: Record<string, MessageStatus> = {
  processed: 'PROCESSED',
  delivered: 'DELIVERED',
  open: 'OPENED',
  bounce: 'BOUNCED',
  dropped: 'NOT_DELIVERED',
};
const MAILGUN_EVENTS: Record<string, MessageStatus> = { delivered: 'DELIVERED', opened: 'OPENED', failed: 'BOUNCED' };
const POSTMARK_EVENTS: Record<string, MessageStatus> = { Delivery: 'DELIVERED', Open: 'OPENED', Bounce: 'BOUNCED' };

const SendgridEvents = z
  .array(
    z.looseObject({
      event: z.string(),
      sg_message_id: z.string().optional(),
      sg_event_id: z.string().optional(),
      timestamp: z.number().optional(),
      patchbay_send_id: z.string().optional(),
    }),
  )
  .max(10_000);
const MailgunWebhook = z.object({
  signature: z.object({ timestamp: z.string(), token: z.string().min(1), signature: z.string() }),
  'event-data': z.looseObject({
    id: z.string().optional(),
    event: z.string(),
    message: z.looseObject({ headers: z.looseObject({ 'message-id': z.string() }) }),
    'user-variables': z.looseObject({ patchbay_send_id: z.string().optional() }).optional(),
  }),
});
const PostmarkWebhook = z.looseObject({
  RecordType: z.string(),
  MessageID: z.string(),
  ID: z.union([z.string(), z.number()]).optional(),
  DeliveredAt: z.string().optional(),
  ReceivedAt: z.string().optional(),
  BouncedAt: z.string().optional(),
  ChangedAt: z.string().optional(),
  Metadata: z.looseObject({ patchbay_send_id: z.string().optional() }).optional(),
});

/** An id for an event its provider gave none: a digest of what it is about and when. */
const digestId = (provider: string, parts: ReadonlyArray<string | number | undefined>) =>
  `${provider}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`;

const parseJson = (body: Buffer): unknown => {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
};

/**
 * Delivery-event webhooks, served by the email subgraph's process: SendGrid (ECDSA P-256 over
 * timestamp + raw body, recent only), Mailgun (HMAC-SHA256 over timestamp + token, recent
 * only) and Postmark (basic auth). A request that does not verify is refused 401 and counted.
 * A verified one applies the events not applied before (by the provider's event id, or by what
 * identifies an event without one) and answers 200 also when every event was known: a
 * provider's retry, or a replay, changes nothing. Events are spent only once their statuses
 * are stored; when the store cannot be reached the answer is 503 with Retry-After, and the
 * provider's retry applies them then.
 */
export function receiveWebhooks(
  app: Express,
  {
    config,
    sources,
    logger,
    registry,
  }: { config: EmailConfig; sources: { statuses: MessageStatuses; keys: IdempotencyStore }; logger: Logger; registry: Registry },
) {
  const received = metricsIn(registry).counter(
    'patchbay_webhooks_total',
    'Delivery-event webhooks by provider and outcome (accepted, duplicate, forged, stale, malformed, unavailable)',
    ['provider', 'outcome'],
  );
  const tolerance = config.WEBHOOK_TOLERANCE_SECONDS;
  // In the idempotency store, which replicas share through Redis: a retry to another replica is known there too.
  const applied = appliedEvents(sources.keys, APPLIED_RETENTION_MS);

  const refuse = (res: Response, provider: string, outcome: 'forged' | 'stale' | 'malformed') => {
    received.inc({ provider, outcome });
    logger.warn({ provider, outcome }, 'webhook refused');
    if (outcome === 'malformed') return void res.status(400).json(errorJson(`Not a ${provider} webhook body`, 'BAD_REQUEST'));
    res
      .status(401)
      .json(
        errorJson(
          outcome === 'stale' ? 'Webhook timestamp is outside the accepted window' : 'Webhook credentials or signature do not verify',
          'UNAUTHENTICATED',
        ),
      );
  };

  const apply = async (res: Response, provider: string, events: DeliveryEvent[]) => {
    let fresh: DeliveryEvent[];
    try {
      const unseen = new Set(await applied.unseen(events.map((e) => e.id)));
      fresh = events.filter((e) => unseen.delete(e.id));
      await Promise.all(
        fresh.flatMap((e) => [
          ...(e.messageId && e.status ? [sources.statuses.record(e.messageId, e.status)] : []),
          ...(e.messageId && e.sendId ? [sources.statuses.linkSend(e.sendId, { messageId: e.messageId, provider })] : []),
        ]),
      );
      await applied.remember(fresh.map((e) => e.id));
    } catch (error) {
      received.inc({ provider, outcome: 'unavailable' });
      logger.error({ provider, err: messageOf(error) }, 'webhook events could not be stored');
      res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
      return void res.status(503).json(errorJson('Webhook events could not be stored; send them again later', 'STORE_UNAVAILABLE'));
    }
    received.inc({ provider, outcome: fresh.length ? 'accepted' : 'duplicate' });
    res.status(200).json({ received: events.length, applied: fresh.length, duplicates: events.length - fresh.length });
  };

  const raw = express.raw({ type: () => true, limit: '1mb' });
  // What `raw` read; nothing when the request had no body.
  const bodyOf = (req: express.Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  app.post('/webhooks/sendgrid', raw, async (req, res) => {
    const signature = req.get('x-twilio-email-event-webhook-signature');
    const timestamp = req.get('x-twilio-email-event-webhook-timestamp');
    const body = bodyOf(req);
    if (
      !signature ||
      !timestamp ||
      !verifyEcdsaP256(config.SENDGRID_WEBHOOK_PUBLIC_KEY, signature, Buffer.concat([Buffer.from(timestamp), body]))
    ) {
      return refuse(res, 'sendgrid', 'forged');
    }
    if (!isFresh(Number(timestamp), tolerance)) return refuse(res, 'sendgrid', 'stale');
    const parsed = SendgridEvents.safeParse(parseJson(body));
    if (!parsed.success) return refuse(res, 'sendgrid', 'malformed');
    await apply(
      res,
      'sendgrid',
      parsed.data.map((e) => ({
        id: e.sg_event_id ? `sendgrid:${e.sg_event_id}` : digestId('sendgrid', [e.sg_message_id, e.event, e.timestamp]),
        messageId: e.sg_message_id?.split('.')[0],
        status: SENDGRID_EVENTS[e.event],
        sendId: e.patchbay_send_id,
      })),
    );
  });

  app.post('/webhooks/mailgun', raw, async (req, res) => {
    const parsed = MailgunWebhook.safeParse(parseJson(bodyOf(req)));
    if (!parsed.success) return refuse(res, 'mailgun', 'malformed');
    const { timestamp, token, signature } = parsed.data.signature;
    if (!safeEqual(hmacSha256Hex(config.MAILGUN_WEBHOOK_SIGNING_KEY, timestamp + token), signature))
      return refuse(res, 'mailgun', 'forged');
    if (!isFresh(Number(timestamp), tolerance)) return refuse(res, 'mailgun', 'stale');
    const event = parsed.data['event-data'];
    await apply(res, 'mailgun', [
      {
        id: event.id ? `mailgun:${event.id}` : digestId('mailgun', [token]),
        messageId: event.message.headers['message-id'].replace(/^<|>$/g, ''),
        status: MAILGUN_EVENTS[event.event],
        sendId: event['user-variables']?.patchbay_send_id,
      },
    ]);
  });

  app.post('/webhooks/postmark', raw, async (req, res) => {
    const credentials = basicCredentials(req.get('authorization'));
    // Both compared whatever the first gives: the time taken tells nothing.
    const userMatches = safeEqual(credentials?.user ?? '', config.POSTMARK_WEBHOOK_USER);
    const passwordMatches = safeEqual(credentials?.password ?? '', config.POSTMARK_WEBHOOK_PASSWORD);
    if (!credentials || !userMatches || !passwordMatches) {
      res.setHeader('WWW-Authenticate', 'Basic realm="postmark-webhooks", charset="UTF-8"');
      return refuse(res, 'postmark', 'forged');
    }
    const parsed = PostmarkWebhook.safeParse(parseJson(bodyOf(req)));
    if (!parsed.success) return refuse(res, 'postmark', 'malformed');
    const event = parsed.data;
    await apply(res, 'postmark', [
      {
        id: digestId('postmark', [
          event.RecordType,
          event.MessageID,
          event.ID,
          event.DeliveredAt ?? event.ReceivedAt ?? event.BouncedAt ?? event.ChangedAt,
        ]),
        messageId: event.MessageID,
        status: POSTMARK_EVENTS[event.RecordType],
        sendId: event.Metadata?.patchbay_send_id,
      },
    ]);
  });
}
