import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { discardBody, readBody, type ReceivedBody } from '../../kit/process/request-body.js';
import { StoreUnavailableError } from '../../kit/errors.js';
import { appliedEvents, type IdempotencyStore } from '../../kit/state/idempotency.js';
import type { Logger } from '../../kit/process/logger.js';
import { metricsIn } from '../../kit/process/metrics.js';
import { errorJson } from '../../kit/process/service.js';
import { messageOf } from '../../kit/process/caught.js';
import type { DeliveryEvent, Refusal, WebhookReceiver } from './mail-provider.js';
import type { MessageStatuses } from './statuses.js';
import type { EventStream } from '../../kit/state/event-stream.js';
import type { EmailEvents } from './events.js';

/** Longer than providers retry a webhook (SendGrid: up to a day or more): a retry is known as one. */
const APPLIED_RETENTION_MS = 72 * 3_600_000;
/** How long a provider should wait before sending a webhook again when its events could not be stored. */
const RETRY_AFTER_SECONDS = 30;
/** The largest webhook body read (an Ingress in front need not pass more), and the time it may take to arrive. */
export const WEBHOOK_BODY_LIMIT_BYTES = 2 ** 20;
const BODY_TIMEOUT_MS = 10_000;

const MESSAGES: Record<Exclude<Refusal, 'malformed'>, string> = {
  forged: 'Webhook credentials or signature do not verify',
  stale: 'Webhook timestamp is outside the accepted window',
  replayed: 'Webhook token was already used with another body',
};

/**
 * Delivery-event webhooks of the mail providers the subgraph sends through, served by its
 * process: each provider's receiver (its file) says how its deliveries are verified. Nothing is
 * parsed before it is verified: what the headers can tell is checked first (refused with the
 * body unread, and thrown away), the body is read within a size and a time limit and checked
 * as it arrives, and only a verified body's events are read. A refusal is 401 (400 for a body
 * that is not the provider's) and counted. Verified events not applied before (by the
 * provider's event id, or by what identifies an event without one) are applied; the answer is
 * 200 also when every event was known: a provider's retry, or a replay, changes nothing.
 * Events are spent only once their statuses are stored; when the store cannot be reached the
 * answer is 503 with Retry-After, and the provider's retry applies them then.
 */
export function receiveWebhooks(
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
  const received = metricsIn(registry).counter(
    'patchbay_webhooks_total',
    'Delivery-event webhooks by provider and outcome (accepted, duplicate, forged, stale, malformed, replayed, unavailable)',
    ['provider', 'outcome'],
  );
  // In the idempotency store, which replicas share through Redis: a retry to another replica is known there too.
  const applied = appliedEvents(dependencies.keys, APPLIED_RETENTION_MS);
  const context = {
    async spendOnce(token: string, body: string, ttlMs: number) {
      const use = await dependencies.keys.claim(token, body, 'webhook', ttlMs);
      return use === 'claimed' || use.fingerprint === body;
    },
  };

  const refuse = (res: Response, provider: string, outcome: Refusal, headers: Record<string, string> = {}) => {
    received.inc({ provider, outcome });
    logger.warn({ provider, outcome }, 'webhook refused');
    res.set(headers);
    if (outcome === 'malformed') return void res.status(400).json(errorJson(`Not a ${provider} webhook body`, 'BAD_REQUEST'));
    res.status(401).json(errorJson(MESSAGES[outcome], 'UNAUTHENTICATED'));
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
          ...(e.messageId && e.status ? [dependencies.statuses.record(e.messageId, e.status)] : []),
          ...(e.messageId && e.sendId ? [dependencies.statuses.linkSend(e.sendId, { messageId: e.messageId, provider })] : []),
        ]),
      );
      // Stored first, then told, then remembered: a webhook answered 503 here is sent again and
      // told again (readers know a retold delivery by its deliveryId), never lost.
      for (const e of fresh) {
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
      await applied.remember(fresh.map((e) => e.id));
    } catch (error) {
      return unavailable(res, provider, error);
    }
    received.inc({ provider, outcome: fresh.length ? 'accepted' : 'duplicate' });
    res.status(200).json({ received: events.length, applied: fresh.length, duplicates: events.length - fresh.length });
  };

  for (const { name, webhook } of receivers) {
    app.post(webhook.path, async (req, res) => {
      const admitted = webhook.admit((header) => req.get(header));
      if ('refuse' in admitted) {
        void discardBody(req);
        return refuse(res, name, admitted.refuse, admitted.headers);
      }
      const raw = await body(req, res, admitted.onChunk);
      if (!raw) return;
      let events: DeliveryEvent[] | Refusal;
      try {
        events = await admitted.read(raw, context);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        return unavailable(res, name, error);
      }
      if (typeof events === 'string') return refuse(res, name, events);
      await apply(res, name, events);
    });
  }
}
