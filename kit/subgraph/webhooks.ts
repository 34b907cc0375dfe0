import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { discardBody, readBody, type ReceivedBody } from '../process/request-body.js';
import { StoreUnavailableError } from '../errors.js';
import { appliedEvents, type IdempotencyStore } from '../state/idempotency.js';
import type { Logger } from '../process/logger.js';
import { metricsIn } from '../process/metrics.js';
import { errorJson } from '../process/service.js';
import { messageOf } from '../process/caught.js';
import { SpanKind, extractContext, inSpan } from '../process/tracing.js';

/** Longer than providers retry a webhook (SendGrid: up to a day or more): a retry is known as one. */
const APPLIED_RETENTION_MS = 72 * 3_600_000;
/** How long a provider should wait before sending a webhook again when its events could not be stored. */
const RETRY_AFTER_SECONDS = 30;
/** The largest webhook body read (an Ingress in front need not pass more), and the time it may take to arrive. */
export const WEBHOOK_BODY_LIMIT_BYTES = 2 ** 20;
const BODY_TIMEOUT_MS = 10_000;

/** Why a webhook delivery is refused: 401, or 400 for a body that is not the provider's. */
export type Refusal = 'forged' | 'stale' | 'malformed' | 'replayed';

const MESSAGES: Record<Exclude<Refusal, 'malformed'>, string> = {
  forged: 'Webhook credentials or signature do not verify',
  stale: 'Webhook timestamp is outside the accepted window',
  replayed: 'Webhook token was already used with another body',
};

/** An event a provider told by webhook: `id` is what identifies it at the provider (a retry has the same). */
export interface WebhookEvent {
  id: string;
}

/** What a provider's receiver may use: a way to spend a signature's token once (shared by the replicas). */
export interface WebhookContext {
  /** Remembers `token` with the body it came with; false when it was seen before with another body. */
  spendOnce(token: string, body: string, ttlMs: number): Promise<boolean>;
}

/**
 * How a provider's webhooks are verified and read, before anything is parsed: what can be
 * checked from the headers first (a refusal, answered with the body unread), then a check of
 * the body as it arrives (`onChunk`) and once it is all there (`read`: its events, or why not).
 */
export interface WebhookReceiver<Event extends WebhookEvent = WebhookEvent> {
  path: string;
  admit(header: (name: string) => string | undefined): { refuse: Refusal; headers?: Record<string, string> } | BodyCheck<Event>;
}

export interface BodyCheck<Event extends WebhookEvent = WebhookEvent> {
  onChunk?(chunk: Buffer): void;
  /** The body is joined only when asked for (`buffer()`): a body refused on its chunks never is. */
  read(body: { buffer(): Buffer }, context: WebhookContext): Event[] | Refusal | Promise<Event[] | Refusal>;
}

/**
 * Providers' webhooks, served by the subgraph's process: each provider's receiver says how its
 * deliveries are verified. Nothing is parsed before it is verified: what the headers can tell is
 * checked first (refused with the body unread, and thrown away), the body is read within a size
 * and a time limit and checked as it arrives, and only a verified body's events are read. A
 * refusal is 401 (400 for a body that is not the provider's) and counted. Verified events not
 * applied before (by the provider's event id) are handed to `apply`, which stores them and tells
 * the domain's event stream; the answer is 200 also when every event was known: a provider's
 * retry, or a replay, changes nothing. Events are remembered only once applied; when they cannot
 * be (the store is down) the answer is 503 with Retry-After, and the provider's retry applies
 * them then.
 */
export function receiveWebhooks<Event extends WebhookEvent>(
  app: Express,
  {
    receivers,
    keys,
    apply,
    logger,
    registry,
  }: {
    receivers: ReadonlyArray<{ name: string; webhook: WebhookReceiver<Event> }>;
    /** Where applied event ids and spent tokens are kept: Redis-backed, the replicas share them. */
    keys: IdempotencyStore;
    /** Stores and tells the events not applied before (in order); throws when they could not be. */
    apply: (provider: string, events: Event[]) => Promise<void>;
    logger: Logger;
    registry: Registry;
  },
) {
  const received = metricsIn(registry).counter(
    'patchbay_webhooks_total',
    'Provider webhooks by provider and outcome (accepted, duplicate, forged, stale, malformed, replayed, unavailable)',
    ['provider', 'outcome'],
  );
  const applied = appliedEvents(keys, APPLIED_RETENTION_MS);
  const context: WebhookContext = {
    async spendOnce(token, body, ttlMs) {
      const use = await keys.claim(token, body, 'webhook', ttlMs);
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

  const applyOnce = async (res: Response, provider: string, events: Event[]) => {
    let fresh: Event[];
    try {
      const unseen = new Set(await applied.unseen(events.map((e) => e.id)));
      fresh = events.filter((e) => unseen.delete(e.id));
      // Applied (stored, then told), then remembered: a webhook answered 503 here is sent again
      // and told again (readers know a retold event by its provider id), never lost.
      await apply(provider, fresh);
      await applied.remember(fresh.map((e) => e.id));
    } catch (error) {
      return unavailable(res, provider, error);
    }
    received.inc({ provider, outcome: fresh.length ? 'accepted' : 'duplicate' });
    res.status(200).json({ received: events.length, applied: fresh.length, duplicates: events.length - fresh.length });
  };

  for (const { name, webhook } of receivers) {
    app.post(webhook.path, (req, res) =>
      // The request's span: what its events tell is appended within it, and its readers' spans continue its trace.
      inSpan(
        `POST ${webhook.path}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': 'POST', 'url.path': webhook.path, 'patchbay.provider': name },
          parent: extractContext((header) => req.headers[header]),
        },
        async (span) => {
          await receive(req, res);
          span.setAttribute('http.response.status_code', res.statusCode);
        },
      ),
    );
    const receive = async (req: Request, res: Response) => {
      const admitted = webhook.admit((header) => req.get(header));
      if ('refuse' in admitted) {
        void discardBody(req);
        return refuse(res, name, admitted.refuse, admitted.headers);
      }
      const raw = await body(req, res, admitted.onChunk);
      if (!raw) return;
      let events: Event[] | Refusal;
      try {
        events = await admitted.read(raw, context);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        return unavailable(res, name, error);
      }
      if (typeof events === 'string') return refuse(res, name, events);
      await applyOnce(res, name, events);
    };
  }
}
