import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import { basicCredentials, safeEqual } from '../kit/subgraph/webhook-signatures.js';
import { createProviderApp, defineSandboxProvider, formFields, webhookSender, type ProviderApp } from './provider.js';

export interface MailgunSandboxOptions {
  apiKey: string;
  /** The sending domain: messages to another domain's path are refused, as Mailgun does. */
  domain: string;
  /** The key its webhooks are signed with. */
  webhookSigningKey: string;
}

export interface MailgunMail {
  id: string;
  fields: Record<string, string[]>;
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** `Name <address>` or an address, as Mailgun takes a from or to. */
const addressOf = (value: string) => /<([^>]+)>\s*$/.exec(value)?.[1] ?? value.trim();

/**
 * Mailgun's messages API: `POST /v3/{domain}/messages` with basic auth (`api`, the key), the
 * message as form fields (multipart, or urlencoded: Mailgun takes both), answered
 * `{"id":"<...@domain>","message":"Queued. Thank you."}`; its errors are JSON `{"message"}`,
 * but a wrong key is a bare 401 `Forbidden`, and a throttle says when to come back in words.
 * Each message accepted is followed by a signed `delivered` webhook (HMAC-SHA256 of timestamp +
 * token with the signing key, inside the JSON), with the `v:` variables as user-variables.
 */
export function createMailgunSandbox({
  apiKey,
  domain,
  webhookSigningKey,
}: MailgunSandboxOptions): ProviderApp & { sent: MailgunMail[]; deliverWebhooksTo(url: string | undefined): void } {
  const provider = createProviderApp('mailgun', {
    errorBody: (status, _req, retryAfter = 1) => ({
      contentType: 'application/json',
      body: JSON.stringify({
        message:
          status === 429
            ? `Domain ${domain} is not allowed to send: account-requests-per-sec limit exceeded, try again after ${retryAfter} seconds`
            : 'Internal Server Error',
      }),
    }),
    // Mailgun sends no throttle headers: the wait is in the words above.
    throttleHeaders: () => ({}),
  });
  const sent: MailgunMail[] = [];
  const webhooks = webhookSender(() => ({}));
  const signature = () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = randomBytes(25).toString('hex');
    return {
      timestamp,
      token,
      signature: createHmac('sha256', webhookSigningKey)
        .update(timestamp + token)
        .digest('hex'),
    };
  };

  provider.app.use(
    '/v3',
    (req, res, next) => {
      const credentials = basicCredentials(req.get('authorization'));
      if (!credentials || credentials.user !== 'api' || !safeEqual(credentials.password, apiKey)) {
        return void res.status(401).type('text/plain').send('Forbidden');
      }
      next();
    },
    express.raw({ type: ['multipart/form-data', 'application/x-www-form-urlencoded'], limit: '25mb' }),
  );

  provider.route('post', '/v3/:domain/messages', 'messages', async (req, res) => {
    if (req.params.domain !== domain) return res.status(404).json({ message: `Domain not found: ${String(req.params.domain)}` });
    const fields = Buffer.isBuffer(req.body) ? await formFields(req.body, req.get('content-type') ?? '') : undefined;
    if (!fields) return res.status(400).json({ message: 'The message must be sent as multipart/form-data or urlencoded form fields' });
    const one = (name: string) => fields[name]?.[0];
    const to = (fields.to ?? []).flatMap((value) => value.split(',')).map(addressOf);
    if (!one('from') || !EMAIL.test(addressOf(one('from')!))) return res.status(400).json({ message: "'from' parameter is missing" });
    if (to.length === 0 || to.some((address) => !EMAIL.test(address)))
      return res.status(400).json({ message: "'to' parameter is not a valid address. please check documentation" });
    if (!one('subject')) return res.status(400).json({ message: "'subject' parameter is missing" });
    if (!one('text') && !one('html') && !one('template'))
      return res.status(400).json({ message: "Need at least one of 'text', 'html' or 'template' parameters specified" });
    const id = `${Date.now()}.${randomBytes(6).toString('hex')}@${domain}`;
    sent.push({ id, fields });
    res.json({ id: `<${id}>`, message: 'Queued. Thank you.' });
    const variables = Object.fromEntries(
      Object.entries(fields).flatMap(([name, values]) => (name.startsWith('v:') ? [[name.slice(2), values[0]]] : [])),
    );
    webhooks.post({
      signature: signature(),
      'event-data': {
        id: randomBytes(11).toString('base64url'),
        event: 'delivered',
        timestamp: Date.now() / 1000,
        recipient: to[0],
        message: { headers: { 'message-id': id, to: to[0], subject: one('subject') } },
        'user-variables': variables,
      },
    });
  });

  return Object.assign(provider, { sent, deliverWebhooksTo: webhooks.deliverTo });
}

export const sandboxProvider = defineSandboxProvider({
  name: 'mailgun',
  create: (_seed, credentials) =>
    createMailgunSandbox({
      apiKey: credentials.MAILGUN_API_KEY,
      domain: credentials.MAILGUN_DOMAIN,
      webhookSigningKey: credentials.MAILGUN_WEBHOOK_SIGNING_KEY,
    }),
  env: (url) => ({ MAILGUN_API_URL: url }),
  webhookPath: '/webhooks/mailgun',
});
