import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { basicCredentials, safeEqual } from '../../kit/subgraph/webhook-signatures.js';
import { providerEntry, sandboxUrl } from '../registry.js';
import { defineMailProvider, digestId, parseJson, usedIn, type SenderSettings, type WebhookReceiver } from './mail-provider.js';
import type { OutgoingEmail } from './messages.js';
import type { MessageStatus } from './statuses.js';

export const PostmarkConfig = z.object({
  POSTMARK_API_URL: env.upstreamUrl(sandboxUrl('postmark'), 'https://api.postmarkapp.com'),
  POSTMARK_SERVER_TOKEN: env.secret(providerEntry('postmark').credentials.serverToken, { requiredIf: usedIn('postmark') }),
  /** The basic-auth credentials put in the Postmark webhook URL. */
  POSTMARK_WEBHOOK_USER: env.secret(providerEntry('postmark').credentials.webhookUser, { requiredIf: usedIn('postmark') }),
  POSTMARK_WEBHOOK_PASSWORD: env.secret(providerEntry('postmark').credentials.webhookPassword, { requiredIf: usedIn('postmark') }),
});

const PostmarkSent = z.object({ MessageID: z.string().min(1), ErrorCode: z.literal(0) });

/** Postmark server API: `POST /email` with the server token. */
export function createPostmarkApi(config: z.infer<typeof PostmarkConfig> & SenderSettings, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('postmark').source,
    baseUrl: config.POSTMARK_API_URL,
    headers: { 'x-postmark-server-token': config.POSTMARK_SERVER_TOKEN, accept: 'application/json' },
    timeoutMs: 2000,
    deadlineMs: 5000,
    // A send is tried again only when provably not sent (a 429, a refused connection: source/outcome.ts).
    retry: { attempts: 2, on: [429, 503], maxRetryAfterMs: 2000 },
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 20, maxQueued: 100 },
  });
  return {
    source,
    async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
      const response = await source.request({
        operation: 'email',
        method: 'POST',
        path: '/email',
        json: {
          From: `${config.EMAIL_FROM_NAME} <${config.EMAIL_FROM_ADDRESS}>`,
          To: mail.to,
          Subject: mail.subject,
          ...(mail.text ? { TextBody: mail.text } : {}),
          ...(mail.html ? { HtmlBody: mail.html } : {}),
          ...(mail.categories?.[0] ? { Tag: mail.categories[0] } : {}),
          Metadata: { patchbay_send_id: mail.sendId },
          MessageStream: 'outbound',
        },
      });
      return { messageId: response.json(PostmarkSent).MessageID };
    },
  };
}

const POSTMARK_EVENTS: Record<string, MessageStatus> = { Delivery: 'DELIVERED', Open: 'OPENED', Bounce: 'BOUNCED' };
const PostmarkWebhook = z.looseObject({
  RecordType: z.string(),
  MessageID: z.string(),
  Recipient: z.string().optional(),
  Email: z.string().optional(),
  ID: z.union([z.string(), z.number()]).optional(),
  DeliveredAt: z.string().optional(),
  ReceivedAt: z.string().optional(),
  BouncedAt: z.string().optional(),
  ChangedAt: z.string().optional(),
  Metadata: z.looseObject({ patchbay_send_id: z.string().optional() }).optional(),
});

/** Postmark signs nothing: its webhooks carry basic auth (RFC 7617), put in the webhook URL, checked before the body is read. */
function postmarkWebhook(config: z.infer<typeof PostmarkConfig>): WebhookReceiver {
  return {
    path: '/webhooks/postmark',
    admit(header) {
      const credentials = basicCredentials(header('authorization'));
      // Both compared whatever the first gives: the time taken tells nothing.
      const userMatches = safeEqual(credentials?.user ?? '', config.POSTMARK_WEBHOOK_USER);
      const passwordMatches = safeEqual(credentials?.password ?? '', config.POSTMARK_WEBHOOK_PASSWORD);
      if (!credentials || !userMatches || !passwordMatches)
        return { refuse: 'forged', headers: { 'www-authenticate': 'Basic realm="postmark-webhooks", charset="UTF-8"' } };
      return {
        read(body) {
          const parsed = PostmarkWebhook.safeParse(parseJson(body.buffer()));
          if (!parsed.success) return 'malformed';
          const event = parsed.data;
          return [
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
              // Delivery and Open name it Recipient; Bounce, Email.
              recipient: (event.Recipient ?? event.Email)?.toLowerCase(),
            },
          ];
        },
      };
    },
  };
}

export const postmark = defineMailProvider({
  name: 'postmark',
  config: PostmarkConfig,
  sender: (config, resources) => createPostmarkApi(config, resources),
  webhook: postmarkWebhook,
});
