import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { metricsIn } from '../../kit/metrics.js';
import { z } from 'zod';
import { appliedEvents, type IdempotencyStore } from '../../kit/idempotency.js';
import { StoreUnavailableError } from '../../kit/errors.js';
import type { Logger } from '../../kit/logger.js';
import { errorJson } from '../../kit/service.js';
import { discardBody, readBody, type ReceivedBody } from '../../kit/body.js';
import { basicCredentials, ecdsaP256Verifier, hmacSha256Hex, isFresh, safeEqual } from '../../kit/webhooks.js';
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
/** The largest webhook body read (an Ingress in front need not pass more), and the time it may take to arrive. */
export const WEBHOOK_BODY_LIMIT_BYTES = 2 ** 20;
const BODY_TIMEOUT_MS = 10_000;

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

/** A SendGrid signature as it must look: base64 of a DER ECDSA signature (about 96 characters). */
const SENDGRID_SIGNATURE = /^[A-Za-z0-9+/]{64,140}={0,2}$/;
/** A Mailgun signature block as it must look, where it sits in the raw body: found without parsing. */
const MAILGUN_SIGNATURE_KEY = '"signature"';
const MAILGUN_SIGNATURE_BLOCK = /^"signature"\s*:\s*\{([^{}]{1,1024})\}/;
const field = (block: string, name: string, shape: string) => new RegExp(`"${name}"\\s*:\\s*"(${shape})"`).exec(block)?.[1];

/**
 * The (timestamp, token, signature) of a Mailgun webhook, read from the raw body by a bounded
 * scan: Mailgun signs only those, inside the JSON, so they are checked before the body is
 * parsed. The parsed body must then carry the same ones (see receiveWebhooks).
 */
export function mailgunSignatureOf(body: Buffer): { timestamp: string; token: string; signature: string } | undefined {
  for (let at = body.indexOf(MAILGUN_SIGNATURE_KEY), tries = 0; at >= 0 && tries < 4; tries++) {
    const block = MAILGUN_SIGNATURE_BLOCK.exec(body.subarray(at, at + 1200).toString('utf8'))?.[1];
    if (block) {
      const timestamp = field(block, 'timestamp', '\\d{1,12}');
      const token = field(block, 'token', '[A-Za-z0-9_-]{1,256}');
      const signature = field(block, 'signature', '[0-9a-f]{64}');
      if (timestamp && token && signature) return { timestamp, token, signature };
    }
    at = body.indexOf(MAILGUN_SIGNATURE_KEY, at + 1);
  }
  return undefined;
}

type Refusal = 'forged' | 'stale' | 'malformed' | 'replayed';

/** The routes the providers deliver to: all the email subgraph exposes beyond the gateway. */
export const WEBHOOK_PATHS = { sendgrid: '/webhooks/sendgrid', mailgun: '/webhooks/mailgun', postmark: '/webhooks/postmark' } as const;

/**
 * Delivery-event webhooks, served by the email subgraph's process: SendGrid (ECDSA P-256 over
 * timestamp + raw body), Mailgun (HMAC-SHA256 over timestamp + token, each token spent once)
 * and Postmark (basic auth). What can be checked before the body is read is checked first (a
 * missing signature, a stale timestamp, wrong credentials: refused with the body unread); the
 * body is read within a size and a time limit, its signature verified on the raw bytes, and
 * only a verified body is parsed. A request that does not verify is refused 401 and counted.
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
    'Delivery-event webhooks by provider and outcome (accepted, duplicate, forged, stale, malformed, replayed, unavailable)',
    ['provider', 'outcome'],
  );
  const tolerance = config.WEBHOOK_TOLERANCE_SECONDS;
  const verifySendgrid = ecdsaP256Verifier(config.SENDGRID_WEBHOOK_PUBLIC_KEY);
  // In the idempotency store, which replicas share through Redis: a retry to another replica is known there too.
  const applied = appliedEvents(sources.keys, APPLIED_RETENTION_MS);

  /** Refuses a delivery; the body of one refused before it was read is thrown away unread. */
  const refuse = (res: Response, provider: string, outcome: Refusal, unread?: Request) => {
    received.inc({ provider, outcome });
    logger.warn({ provider, outcome }, 'webhook refused');
    if (unread) void discardBody(unread);
    if (outcome === 'malformed') return void res.status(400).json(errorJson(`Not a ${provider} webhook body`, 'BAD_REQUEST'));
    const message =
      outcome === 'stale'
        ? 'Webhook timestamp is outside the accepted window'
        : outcome === 'replayed'
          ? 'Webhook token was already used with another body'
          : 'Webhook credentials or signature do not verify';
    res.status(401).json(errorJson(message, 'UNAUTHENTICATED'));
  };

  const unavailable = (res: Response, provider: string, error: unknown) => {
    received.inc({ provider, outcome: 'unavailable' });
    logger.error({ provider, err: messageOf(error) }, 'webhook events could not be stored');
    res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
    res.status(503).json(errorJson('Webhook events could not be stored; send them again later', 'STORE_UNAVAILABLE'));
  };

  /** The raw body, within its limits (each chunk handed to `onChunk` as it comes); undefined when the answer was given instead. */
  const body = async (req: Request, res: Response, onChunk?: (chunk: Buffer) => void): Promise<ReceivedBody | undefined> => {
    const encoding = req.get('content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity') {
      void discardBody(req);
      return void res.status(415).json(errorJson('Webhook bodies are taken uncompressed', 'UNSUPPORTED_MEDIA_TYPE'));
    }
    const read = await readBody(req, { limit: WEBHOOK_BODY_LIMIT_BYTES, timeoutMs: BODY_TIMEOUT_MS, onChunk });
    if (typeof read !== 'string') return read;
    if (read === 'aborted') return void res.destroy();
    if (read === 'timeout') {
      res.setHeader('connection', 'close');
      return void res.status(408).json(errorJson('The webhook body was not sent in time', 'REQUEST_TIMEOUT'));
    }
    res.status(413).json(errorJson(`Webhook body is larger than ${WEBHOOK_BODY_LIMIT_BYTES} bytes`, 'PAYLOAD_TOO_LARGE'));
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
      return unavailable(res, provider, error);
    }
    received.inc({ provider, outcome: fresh.length ? 'accepted' : 'duplicate' });
    res.status(200).json({ received: events.length, applied: fresh.length, duplicates: events.length - fresh.length });
  };

  app.post(WEBHOOK_PATHS.sendgrid, async (req, res) => {
    const signature = req.get('x-twilio-email-event-webhook-signature');
    const timestamp = req.get('x-twilio-email-event-webhook-timestamp');
    if (!signature || !timestamp || !SENDGRID_SIGNATURE.test(signature)) return refuse(res, 'sendgrid', 'forged', req);
    if (!isFresh(Number(timestamp), tolerance)) return refuse(res, 'sendgrid', 'stale', req);
    // The signature is checked on the bytes as they arrive: a forged body is never joined or parsed.
    const check = verifySendgrid(signature);
    check.update(timestamp);
    const raw = await body(req, res, check.update);
    if (!raw) return;
    if (!check.matches()) return refuse(res, 'sendgrid', 'forged');
    const parsed = SendgridEvents.safeParse(parseJson(raw.buffer()));
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

  app.post(WEBHOOK_PATHS.mailgun, async (req, res) => {
    const received = await body(req, res);
    if (!received) return;
    const raw = received.buffer();
    const signed = mailgunSignatureOf(raw);
    if (!signed) return refuse(res, 'mailgun', 'malformed');
    if (!safeEqual(hmacSha256Hex(config.MAILGUN_WEBHOOK_SIGNING_KEY, signed.timestamp + signed.token), signed.signature))
      return refuse(res, 'mailgun', 'forged');
    if (!isFresh(Number(signed.timestamp), tolerance)) return refuse(res, 'mailgun', 'stale');
    // Mailgun signs the token, not the event: a token is spent on the body it first came with
    // (the same body again is a retry, answered as one), so a signature seen once cannot
    // carry an event of someone else's making.
    const bodyDigest = createHash('sha256').update(raw).digest('base64url');
    let tokenUse: Awaited<ReturnType<IdempotencyStore['claim']>>;
    try {
      tokenUse = await sources.keys.claim(`mailgun-token:${signed.token}`, bodyDigest, 'webhook', 2 * tolerance * 1000);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return unavailable(res, 'mailgun', error);
    }
    if (tokenUse !== 'claimed' && tokenUse.fingerprint !== bodyDigest) return refuse(res, 'mailgun', 'replayed');
    const parsed = MailgunWebhook.safeParse(parseJson(raw));
    if (!parsed.success) return refuse(res, 'mailgun', 'malformed');
    const { timestamp, token, signature } = parsed.data.signature;
    // What was verified is what the body says: a second signature block cannot stand in for it.
    if (timestamp !== signed.timestamp || token !== signed.token || signature !== signed.signature) return refuse(res, 'mailgun', 'forged');
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

  app.post(WEBHOOK_PATHS.postmark, async (req, res) => {
    const credentials = basicCredentials(req.get('authorization'));
    // Both compared whatever the first gives: the time taken tells nothing.
    const userMatches = safeEqual(credentials?.user ?? '', config.POSTMARK_WEBHOOK_USER);
    const passwordMatches = safeEqual(credentials?.password ?? '', config.POSTMARK_WEBHOOK_PASSWORD);
    if (!credentials || !userMatches || !passwordMatches) {
      res.setHeader('WWW-Authenticate', 'Basic realm="postmark-webhooks", charset="UTF-8"');
      return refuse(res, 'postmark', 'forged', req);
    }
    const raw = await body(req, res);
    if (!raw) return;
    const parsed = PostmarkWebhook.safeParse(parseJson(raw.buffer()));
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
