import { createHash } from 'node:crypto';
import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import type { UpstreamResponse } from '../../kit/source/response.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { hmacSha256Hex, isFresh, safeEqual } from '../../kit/subgraph/webhook-signatures.js';
import { providerEntry, sandboxUrl } from '../registry.js';
import { defineMailProvider, digestId, parseJson, usedIn, type SenderSettings, type WebhookReceiver } from './mail-provider.js';
import type { OutgoingEmail } from './messages.js';
import type { MessageStatus } from './statuses.js';

export const MailgunConfig = z.object({
  /** Mailgun's API (EU: https://api.eu.mailgun.net). */
  MAILGUN_API_URL: env.upstreamUrl(sandboxUrl('mailgun'), 'https://api.mailgun.net'),
  MAILGUN_API_KEY: env.secret(providerEntry('mailgun').credentials.apiKey, { requiredIf: usedIn('mailgun') }),
  /** The sending domain set up at Mailgun. */
  MAILGUN_DOMAIN: env.local(
    z
      .string()
      .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain name')
      .default(providerEntry('mailgun').account.domain),
    { requiredIf: usedIn('mailgun') },
  ),
  /** Mailgun's HTTP webhook signing key. */
  MAILGUN_WEBHOOK_SIGNING_KEY: env.secret(providerEntry('mailgun').credentials.webhookSigningKey, { requiredIf: usedIn('mailgun') }),
});

const MailgunQueued = z.object({ id: z.string().min(1), message: z.string() });

/** Mailgun sends no Retry-After: its 429 says "try again after N seconds" in words. */
export function mailgunRetryAfterMs(response: UpstreamResponse): number | undefined {
  const seconds = /try again after (\d+) seconds?/i.exec(response.text())?.[1];
  return seconds === undefined ? undefined : Number(seconds) * 1000;
}

/** Mailgun's messages API: `POST /v3/{domain}/messages`, the message as multipart form fields, with basic auth (`api`, the key). */
export function createMailgunApi(config: z.infer<typeof MailgunConfig> & SenderSettings, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('mailgun').source,
    baseUrl: config.MAILGUN_API_URL,
    headers: { authorization: `Basic ${Buffer.from(`api:${config.MAILGUN_API_KEY}`).toString('base64')}`, accept: 'application/json' },
    timeoutMs: 2000,
    deadlineMs: 5000,
    // A send is tried again only when provably not sent (a 429, a refused connection: source/outcome.ts).
    retry: { attempts: 2, on: [429, 500, 502, 503, 504], maxRetryAfterMs: 2000 },
    retryAfterMs: mailgunRetryAfterMs,
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 20, maxQueued: 100 },
    // The account's limit, held for every replica with REDIS_URL: Mailgun's 429 names an account requests-per-second
    // limit without a number; 500 requests every 10 seconds is the one its spec states (for its Metrics API).
    rateLimit: { perSecond: 50, burst: 500, shared: true },
  });
  return {
    source,
    async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
      const form = new FormData();
      form.append('from', `${config.EMAIL_FROM_NAME} <${config.EMAIL_FROM_ADDRESS}>`);
      form.append('to', mail.to);
      form.append('subject', mail.subject);
      if (mail.text) form.append('text', mail.text);
      if (mail.html) form.append('html', mail.html);
      // Echoed in its events and webhooks as user-variables.
      form.append('v:patchbay_send_id', mail.sendId);
      for (const tag of mail.categories ?? []) form.append('o:tag', tag);
      // multipart/form-data, as Mailgun's spec describes the send; encoded once, so a retry sends the same bytes.
      const encoded = new Response(form);
      const response = await source.request({
        operation: 'messages',
        method: 'POST',
        path: `/v3/${encodeURIComponent(config.MAILGUN_DOMAIN)}/messages`,
        headers: { 'content-type': encoded.headers.get('content-type')! },
        body: Buffer.from(await encoded.arrayBuffer()),
      });
      const id = response.json(MailgunQueued).id.replace(/^<|>$/g, '');
      if (!id) throw new UpstreamError(source.name, UpstreamErrorCode.BAD_RESPONSE, { status: response.status, cause: 'no message id' });
      return { messageId: id };
    },
  };
}

const MAILGUN_EVENTS: Record<string, MessageStatus> = {
  accepted: 'PROCESSED',
  delivered: 'DELIVERED',
  opened: 'OPENED',
  failed: 'BOUNCED',
};
const MailgunWebhook = z.object({
  signature: z.object({ timestamp: z.string(), token: z.string().min(1), signature: z.string() }),
  'event-data': z.looseObject({
    id: z.string().optional(),
    event: z.string(),
    message: z.looseObject({ headers: z.looseObject({ 'message-id': z.string() }) }),
    'user-variables': z.looseObject({ patchbay_send_id: z.string().optional() }).optional(),
    recipient: z.string().optional(),
  }),
});

/** A Mailgun signature block as it must look, where it sits in the raw body: found without parsing. */
const SIGNATURE_KEY = '"signature"';
const SIGNATURE_BLOCK = /^"signature"\s*:\s*\{([^{}]{1,1024})\}/;
const field = (block: string, name: string, shape: string) => new RegExp(`"${name}"\\s*:\\s*"(${shape})"`).exec(block)?.[1];

/**
 * The (timestamp, token, signature) of a Mailgun webhook, read from the raw body by a bounded
 * scan: Mailgun signs only those, inside the JSON, so they are checked before the body is
 * parsed. The parsed body must then carry the same ones.
 */
export function mailgunSignatureOf(body: Buffer): { timestamp: string; token: string; signature: string } | undefined {
  for (let at = body.indexOf(SIGNATURE_KEY), tries = 0; at >= 0 && tries < 4; tries++) {
    const block = SIGNATURE_BLOCK.exec(body.subarray(at, at + 1200).toString('utf8'))?.[1];
    if (block) {
      const timestamp = field(block, 'timestamp', '\\d{1,12}');
      const token = field(block, 'token', '[A-Za-z0-9_-]{1,256}');
      const signature = field(block, 'signature', '[0-9a-f]{64}');
      if (timestamp && token && signature) return { timestamp, token, signature };
    }
    at = body.indexOf(SIGNATURE_KEY, at + 1);
  }
  return undefined;
}

/**
 * Mailgun's webhooks: HMAC-SHA256 of timestamp + token with the signing key, inside the body.
 * Mailgun signs the token, not the event, so a token is spent on the body it first came with
 * (the same body again is a retry, answered as one): a signature seen once cannot carry an
 * event of someone else's making.
 */
function mailgunWebhook(config: z.infer<typeof MailgunConfig>, toleranceSeconds: number): WebhookReceiver {
  return {
    path: '/webhooks/mailgun',
    admit: () => ({
      async read(body, context) {
        const raw = body.buffer();
        const signed = mailgunSignatureOf(raw);
        if (!signed) return 'malformed';
        if (!safeEqual(hmacSha256Hex(config.MAILGUN_WEBHOOK_SIGNING_KEY, signed.timestamp + signed.token), signed.signature))
          return 'forged';
        if (!isFresh(Number(signed.timestamp), toleranceSeconds)) return 'stale';
        const digest = createHash('sha256').update(raw).digest('base64url');
        if (!(await context.spendOnce(`mailgun-token:${signed.token}`, digest, 2 * toleranceSeconds * 1000))) return 'replayed';
        const parsed = MailgunWebhook.safeParse(parseJson(raw));
        if (!parsed.success) return 'malformed';
        const { timestamp, token, signature } = parsed.data.signature;
        // What was verified is what the body says: a second signature block cannot stand in for it.
        if (timestamp !== signed.timestamp || token !== signed.token || signature !== signed.signature) return 'forged';
        const event = parsed.data['event-data'];
        return [
          {
            id: event.id ? `mailgun:${event.id}` : digestId('mailgun', [token]),
            messageId: event.message.headers['message-id'].replace(/^<|>$/g, ''),
            status: MAILGUN_EVENTS[event.event],
            sendId: event['user-variables']?.patchbay_send_id,
            recipient: event.recipient?.toLowerCase(),
          },
        ];
      },
    }),
  };
}

export const mailgun = defineMailProvider({
  name: 'mailgun',
  config: MailgunConfig,
  sender: (config, resources) => createMailgunApi(config, resources),
  webhook: mailgunWebhook,
});
