import { randomUUID } from 'node:crypto';
import express from 'express';
import { createProviderApp, defineSandboxProvider, jsonError, webhookSender, type ProviderApp } from './provider.js';

export interface PostmarkSandboxOptions {
  serverToken: string;
  /** The basic-auth credentials Postmark puts on its webhook calls. */
  webhookUser: string;
  webhookPassword: string;
}

export interface PostmarkMail {
  MessageID: string;
  body: Record<string, unknown>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Postmark's server API, the fallback email provider: `POST /email` with
 * X-Postmark-Server-Token; API errors are 422 with Postmark's ErrorCode and Message.
 */
export function createPostmarkSandbox({
  serverToken,
  webhookUser,
  webhookPassword,
}: PostmarkSandboxOptions): ProviderApp & { sent: PostmarkMail[]; deliverWebhooksTo(url: string | undefined): void } {
  const provider = createProviderApp('postmark', {
    errorBody: jsonError((status) => ({
      ErrorCode: status === 429 ? 429 : 500,
      Message: status === 429 ? 'Rate Limit Exceeded' : 'Internal Server Error',
    })),
  });
  const sent: PostmarkMail[] = [];
  const webhooks = webhookSender(() => ({ authorization: `Basic ${Buffer.from(`${webhookUser}:${webhookPassword}`).toString('base64')}` }));
  const fail = (res: express.Response, status: number, code: number, message: string) =>
    res.status(status).json({ ErrorCode: code, Message: message });

  provider.app.use(
    '/email',
    (req, res, next) => {
      if (req.headers['x-postmark-server-token'] !== serverToken) {
        return fail(res, 401, 10, 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid.');
      }
      next();
    },
    express.json({ limit: '10mb', type: () => true }),
  );

  provider.route('post', '/email', 'email', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const to = typeof body.To === 'string' ? body.To.split(',').map((s) => s.trim()) : [];
    if (typeof body.From !== 'string' || !EMAIL.test(body.From.replace(/^.*<(.*)>$/, '$1')))
      return fail(res, 422, 300, "Invalid 'From' address.");
    if (to.length === 0 || to.length > 50 || to.some((t) => !EMAIL.test(t))) return fail(res, 422, 300, "Invalid 'To' address.");
    if (!body.TextBody && !body.HtmlBody) return fail(res, 422, 300, 'Provide either email TextBody or HtmlBody or both.');
    const MessageID = randomUUID();
    sent.push({ MessageID, body });
    res.json({ To: body.To, SubmittedAt: new Date().toISOString(), MessageID, ErrorCode: 0, Message: 'OK' });
    const metadata = typeof body.Metadata === 'object' && body.Metadata !== null ? { Metadata: body.Metadata } : {};
    webhooks.post({
      RecordType: 'Delivery',
      MessageID,
      Recipient: to[0],
      DeliveredAt: new Date().toISOString(),
      MessageStream: 'outbound',
      ...metadata,
    });
  });

  return Object.assign(provider, { sent, deliverWebhooksTo: webhooks.deliverTo });
}

export const sandboxProvider = defineSandboxProvider({
  name: 'postmark',
  create: (_seed, credentials) =>
    createPostmarkSandbox({
      serverToken: credentials.POSTMARK_SERVER_TOKEN,
      webhookUser: credentials.POSTMARK_WEBHOOK_USER,
      webhookPassword: credentials.POSTMARK_WEBHOOK_PASSWORD,
    }),
  env: (url) => ({ POSTMARK_API_URL: url }),
  webhookPath: '/webhooks/postmark',
});
