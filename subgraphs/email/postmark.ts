import { z } from 'zod';
import { STANDARD_BREAKER } from '../../kit/breaker.js';
import type { SourceKit } from '../../kit/subgraph.js';
import type { EmailConfig } from './config.js';
import type { OutgoingEmail } from './messages.js';

const PostmarkSent = z.object({ MessageID: z.string().min(1), ErrorCode: z.literal(0) });

/** Postmark server API: the fallback that takes sends while SendGrid's circuit is open. */
export function createPostmarkApi(config: EmailConfig, kit: SourceKit) {
  const source = kit.source({
    name: 'email.postmark',
    baseUrl: config.POSTMARK_API_URL,
    headers: { 'x-postmark-server-token': config.POSTMARK_SERVER_TOKEN, accept: 'application/json' },
    timeoutMs: 2000,
    deadlineMs: 5000,
    // Postmark answers 429 without accepting the message; everything else may have been sent.
    retry: { attempts: 2, on: [429, 503], notAcceptedOn: [429], maxRetryAfterMs: 2000 },
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
export type PostmarkApi = ReturnType<typeof createPostmarkApi>;
