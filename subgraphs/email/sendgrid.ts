import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import { ecdsaP256Verifier, isFresh } from '../../kit/subgraph/webhook-signatures.js';
import { providerEntry, sandboxUrl } from '../registry.js';
import { defineMailProvider, digestId, parseJson, usedIn, type SenderSettings, type WebhookReceiver } from './mail-provider.js';
import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { UpstreamResponse } from '../../kit/source/response.js';
import type { EmailMessageRecord, OutgoingEmail } from './messages.js';
import type { MessageStatus } from './statuses.js';
import { generateKeyPairSync } from 'node:crypto';

/** Email Activity answers at most this many messages per query. */
export const ACTIVITY_LIMIT = 1000;
/** The bounce list's largest page. */
export const BOUNCES_PER_PAGE = 500;
/**
 * How old a bounce list may be when reused. SendGrid sends no caching headers; a bounce
 * shows as BOUNCED at most this late (a lookup of one address is never cached).
 */
export const BOUNCE_LIST_TTL_MS = 60_000;

/** Email Activity's statuses in the schema's words. */
const ACTIVITY_STATUS = { processed: 'PROCESSED', delivered: 'DELIVERED', not_delivered: 'NOT_DELIVERED' } as const satisfies Record<
  string,
  MessageStatus
>;

const ActivityMessage = z.object({
  msg_id: z.string(),
  from_email: z.string(),
  to_email: z.string(),
  subject: z.string(),
  status: z.enum(['processed', 'delivered', 'not_delivered']).transform((status) => ACTIVITY_STATUS[status]),
  opens_count: z.number().int(),
  clicks_count: z.number().int(),
  last_event_time: z.string(),
});
const ActivityResponse = z.object({ messages: z.array(ActivityMessage) });
const BounceList = z.array(
  z.object({ email: z.string(), created: z.number(), reason: z.string().optional(), status: z.string().optional() }),
);

/** SendGrid's X-RateLimit-Reset is the epoch second the window resets, not a delay. */
export function sendgridRetryAfterMs(response: UpstreamResponse): number | undefined {
  const reset = Number(response.headers['x-ratelimit-reset']);
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined;
}

const sgqlString = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

const isEcdsaP256PublicKey = (key: string) => {
  try {
    ecdsaP256Verifier(key);
    return true;
  } catch {
    return false;
  }
};

/** SendGrid's settings. Its API key is always needed: message lists are read from its Email Activity. */
export const SendgridConfig = z.object({
  SENDGRID_API_URL: env.upstreamUrl(sandboxUrl('sendgrid'), 'https://api.sendgrid.com'),
  SENDGRID_API_KEY: env.secret(providerEntry('sendgrid').credentials.apiKey),
  /** SendGrid Event Webhook verification key (base64 SPKI, from SendGrid's webhook settings). */
  SENDGRID_WEBHOOK_PUBLIC_KEY: env.secret(providerEntry('sendgrid').credentials.webhookPublicKey, {
    check: [isEcdsaP256PublicKey, 'must be the base64 public key (SPKI) SendGrid shows for the signed Event Webhook'],
    requiredIf: usedIn('sendgrid'),
    // A key pair: the sandbox signs with the private half when production is rehearsed against it.
    generate: () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return {
        SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        SANDBOX_SENDGRID_WEBHOOK_PRIVATE_KEY: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      };
    },
  }),
});
type SendgridConfig = z.infer<typeof SendgridConfig> & SenderSettings;

/** SendGrid v3 client: mail send, Email Activity, bounce suppressions. */
export function createSendgridApi(config: SendgridConfig, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('sendgrid').source,
    baseUrl: config.SENDGRID_API_URL,
    headers: { authorization: `Bearer ${config.SENDGRID_API_KEY}`, accept: 'application/json' },
    timeoutMs: 2000,
    deadlineMs: 5000,
    // A send is tried again only when provably not sent (a 429, a refused connection: source/outcome.ts).
    retry: { attempts: 3, on: [429, 500, 502, 503, 504], maxRetryAfterMs: 2000 },
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 50, maxQueued: 100 },
    retryAfterMs: sendgridRetryAfterMs,
    cache: { maxEntries: 100, maxBytes: 8 * 2 ** 20 },
  });

  return {
    source,
    async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
      const content = [
        ...(mail.text ? [{ type: 'text/plain', value: mail.text }] : []),
        ...(mail.html ? [{ type: 'text/html', value: mail.html }] : []),
      ];
      const response = await source.request({
        operation: 'mailSend',
        method: 'POST',
        path: '/v3/mail/send',
        json: {
          // Our send id rides on the personalization, where SendGrid's spec takes an object.
          personalizations: [{ to: [{ email: mail.to }], custom_args: { patchbay_send_id: mail.sendId } }],
          from: { email: config.EMAIL_FROM_ADDRESS, name: config.EMAIL_FROM_NAME },
          subject: mail.subject,
          content,
          ...(mail.categories?.length ? { categories: mail.categories } : {}),
        },
      });
      const messageId = response.headers['x-message-id'];
      if (typeof messageId !== 'string' || messageId === '') {
        throw new UpstreamError(source.name, UpstreamErrorCode.BAD_RESPONSE, { status: response.status, cause: 'no X-Message-Id' });
      }
      return { messageId };
    },
    /** Most recent messages to any of `addresses`, newest first, at most `limit` in all. */
    async messagesTo(addresses: readonly string[], limit: number): Promise<EmailMessageRecord[]> {
      const query =
        addresses.length === 1 ? `to_email=${sgqlString(addresses[0]!)}` : `to_email IN (${addresses.map(sgqlString).join(',')})`;
      const response = await source.request({ operation: 'activityQuery', path: '/v3/messages', query: { query, limit } });
      return response.json(ActivityResponse).messages.map((m) => ({
        id: m.msg_id,
        from: m.from_email,
        to: m.to_email,
        subject: m.subject,
        status: m.status,
        opens: m.opens_count,
        clicks: m.clicks_count,
        lastEventAt: new Date(m.last_event_time).toISOString(),
      }));
    },
    /**
     * Every bounced address, when the list has at most `maxPages` pages; undefined when it
     * is longer (the caller then asks per address, which costs no more).
     */
    async bouncedAddresses(maxPages: number): Promise<Set<string> | undefined> {
      const bounced = new Set<string>();
      for (let page = 0; page < maxPages; page++) {
        const response = await source.request({
          operation: 'listBounces',
          path: '/v3/suppression/bounces',
          query: { limit: BOUNCES_PER_PAGE, offset: page * BOUNCES_PER_PAGE },
          cacheTtlMs: BOUNCE_LIST_TTL_MS,
        });
        const entries = response.json(BounceList);
        for (const entry of entries) bounced.add(entry.email.toLowerCase());
        if (entries.length < BOUNCES_PER_PAGE) return bounced;
      }
      return undefined;
    },
    async isBounced(address: string): Promise<boolean> {
      const response = await source.request({ operation: 'getBounce', path: `/v3/suppression/bounces/${encodeURIComponent(address)}` });
      return response.json(BounceList).length > 0;
    },
  };
}
export type SendgridApi = ReturnType<typeof createSendgridApi>;

const SENDGRID_EVENTS: Record<string, MessageStatus> = {
  processed: 'PROCESSED',
  delivered: 'DELIVERED',
  open: 'OPENED',
  bounce: 'BOUNCED',
  dropped: 'NOT_DELIVERED',
};
const SendgridEvents = z
  .array(
    z.looseObject({
      event: z.string(),
      sg_message_id: z.string().optional(),
      sg_event_id: z.string().optional(),
      timestamp: z.number().optional(),
      patchbay_send_id: z.string().optional(),
      email: z.string().optional(),
    }),
  )
  .max(10_000);
/** A SendGrid signature as it must look: base64 of a DER ECDSA signature (about 96 characters). */
const SENDGRID_SIGNATURE = /^[A-Za-z0-9+/]{64,140}={0,2}$/;

/** SendGrid's Event Webhook: ECDSA P-256 over timestamp + raw body, checked on the bytes as they arrive. */
function sendgridWebhook(config: z.infer<typeof SendgridConfig>, toleranceSeconds: number): WebhookReceiver {
  const verifier = ecdsaP256Verifier(config.SENDGRID_WEBHOOK_PUBLIC_KEY);
  return {
    path: '/webhooks/sendgrid',
    admit(header) {
      const signature = header('x-twilio-email-event-webhook-signature');
      const timestamp = header('x-twilio-email-event-webhook-timestamp');
      if (!signature || !timestamp || !SENDGRID_SIGNATURE.test(signature)) return { refuse: 'forged' };
      if (!isFresh(Number(timestamp), toleranceSeconds)) return { refuse: 'stale' };
      const check = verifier(signature);
      check.update(timestamp);
      return {
        onChunk: check.update,
        read(body) {
          if (!check.matches()) return 'forged';
          const parsed = SendgridEvents.safeParse(parseJson(body.buffer()));
          if (!parsed.success) return 'malformed';
          return parsed.data.map((e) => ({
            id: e.sg_event_id ? `sendgrid:${e.sg_event_id}` : digestId('sendgrid', [e.sg_message_id, e.event, e.timestamp]),
            messageId: e.sg_message_id?.split('.')[0],
            status: SENDGRID_EVENTS[e.event],
            sendId: e.patchbay_send_id,
            recipient: e.email?.toLowerCase(),
          }));
        },
      };
    },
  };
}

/** One SendGrid client per subgraph (its resources): the sender and the Email Activity reads share its breaker and cache. */
const clients = new WeakMap<SubgraphResources, SendgridApi>();
export function sendgridApi(config: SendgridConfig, resources: SubgraphResources): SendgridApi {
  let client = clients.get(resources);
  if (!client) clients.set(resources, (client = createSendgridApi(config, resources)));
  return client;
}

export const sendgrid = defineMailProvider({
  name: 'sendgrid',
  config: SendgridConfig,
  sender: sendgridApi,
  webhook: sendgridWebhook,
});
