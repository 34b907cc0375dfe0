import { createPrivateKey, createSign, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import express from 'express';
import { createProviderApp, defineSandboxProvider, jsonError, webhookSender, type ProviderApp } from './provider.js';
import type { SeedBounce, SeedMessage } from './seed.js';

export interface SendgridSandboxOptions {
  messages: SeedMessage[];
  bounces: SeedBounce[];
  apiKey: string;
  /** Base64 PKCS#8 P-256 key the Event Webhook is signed with. */
  webhookPrivateKey: string;
  /** Requests per minute before 429; SendGrid publishes no fixed number, headers tell. */
  ratePerMinute?: number;
}

export interface SentMail {
  messageId: string;
  body: MailSendBody;
  receivedAt: Date;
}

interface MailSendBody {
  personalizations?: Array<{ to?: Array<{ email?: string; name?: string }>; subject?: string; custom_args?: Record<string, string> }>;
  from?: { email?: string; name?: string };
  subject?: string;
  content?: Array<{ type?: string; value?: string }>;
  template_id?: string;
  categories?: string[];
  custom_args?: Record<string, string>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_BODY = '30mb';

type SgError = { message: string; field: string | null; help?: string };
function errors(res: Response, status: number, list: SgError[]) {
  res.status(status).json({ errors: list });
}

/** The problems SendGrid reports for a mail/send body, in its own words where documented. */
function validateMail(body: MailSendBody): SgError[] {
  const problems: SgError[] = [];
  const personalizations = body.personalizations;
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    problems.push({
      message: 'The personalizations field is required and must have at least one personalization.',
      field: 'personalizations',
    });
  } else {
    if (personalizations.length > 1000) {
      problems.push({
        message: 'The personalization block is limited to 1000 personalizations per API request.',
        field: 'personalizations',
      });
    }
    let recipients = 0;
    personalizations.forEach((p, i) => {
      if (!Array.isArray(p.to) || p.to.length === 0) {
        problems.push({
          message:
            'The to array is required for all personalization objects, and must have at least one email object with a valid email address.',
          field: `personalizations.${i}.to`,
        });
        return;
      }
      recipients += p.to.length;
      p.to.forEach((to, j) => {
        if (typeof to.email !== 'string' || !EMAIL.test(to.email)) {
          problems.push({ message: 'Does not contain a valid address.', field: `personalizations.${i}.to.${j}.email` });
        }
      });
    });
    if (recipients > 1000) {
      problems.push({ message: 'There is a limit of 1000 total recipients (to + cc + bcc) per request.', field: 'personalizations' });
    }
  }
  if (!body.from || typeof body.from.email !== 'string' || !EMAIL.test(body.from.email)) {
    problems.push({
      message:
        'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.',
      field: 'from',
    });
  }
  if (!body.template_id) {
    const hasSubject = typeof body.subject === 'string' || personalizations?.every((p) => typeof p.subject === 'string');
    if (!hasSubject)
      problems.push({
        message:
          'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
        field: 'subject',
      });
    if (
      !Array.isArray(body.content) ||
      body.content.length === 0 ||
      body.content.some((c) => !c.type || typeof c.value !== 'string' || c.value.length === 0)
    ) {
      problems.push({
        message:
          'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.',
        field: 'content',
      });
    }
  }
  if (Array.isArray(body.categories) && body.categories.length > 10) {
    problems.push({ message: 'Too many categories. The maximum is 10.', field: 'categories' });
  }
  return problems;
}

/** A message's field as SGQL names it (the query's pattern admits only these). */
const fieldOf = (m: SeedMessage, field: string | undefined) => (field === 'status' ? m.status : field === 'msg_id' ? m.msg_id : m.to_email);

/** SGQL, the subset patchbay sends: `to_email="a"`, `to_email IN ("a","b")`, `status="delivered"`, joined by AND. */
function parseActivityQuery(query: string): ((m: SeedMessage) => boolean) | undefined {
  const clauses = query.split(/\s+AND\s+/i);
  const tests: Array<(m: SeedMessage) => boolean> = [];
  for (const clause of clauses) {
    const eq = /^\s*(to_email|status|msg_id)\s*=\s*"([^"]*)"\s*$/.exec(clause);
    if (eq) {
      const [, field, value] = eq;
      tests.push((m) => fieldOf(m, field) === value);
      continue;
    }
    const inList = /^\s*(to_email|msg_id)\s+IN\s*\(([^)]*)\)\s*$/i.exec(clause);
    if (inList) {
      const [, field, list = ''] = inList;
      const values = new Set([...list.matchAll(/"([^"]*)"/g)].map((m) => m[1]));
      tests.push((m) => values.has(fieldOf(m, field)));
      continue;
    }
    return undefined;
  }
  return (m) => tests.every((t) => t(m));
}

/**
 * SendGrid v3: mail send, Email Activity and bounce suppressions, with SendGrid's bearer
 * auth, error bodies and X-RateLimit-* headers (reset in epoch seconds).
 */
export function createSendgridSandbox(
  options: SendgridSandboxOptions,
): ProviderApp & { sent: SentMail[]; deliverWebhooksTo(url: string | undefined): void } {
  const provider = createProviderApp('sendgrid', {
    errorBody: jsonError((status) => ({ errors: [{ field: null, message: status === 429 ? 'too many requests' : 'internal error' }] })),
    // SendGrid sends no Retry-After: the reset is an epoch second.
    throttleHeaders: (seconds) => ({
      'X-RateLimit-Limit': '600',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + seconds),
    }),
  });
  const messages = [...options.messages];
  const bounces = [...options.bounces];
  const sent: SentMail[] = [];
  // Signed as SendGrid's Event Webhook signs: ECDSA P-256 over timestamp + body.
  const webhooks = webhookSender((body) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const key = createPrivateKey({ key: Buffer.from(options.webhookPrivateKey, 'base64'), format: 'der', type: 'pkcs8' });
    const signature = createSign('sha256')
      .update(timestamp + body)
      .sign(key)
      .toString('base64');
    return { 'X-Twilio-Email-Event-Webhook-Signature': signature, 'X-Twilio-Email-Event-Webhook-Timestamp': timestamp };
  });
  const limit = options.ratePerMinute ?? 100_000;
  let windowStart = 0;
  let used = 0;

  provider.app.use('/v3', (req: Request, res: Response, next) => {
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      windowStart = now - (now % 60_000);
      used = 0;
    }
    used++;
    res.setHeader('X-RateLimit-Limit', String(limit));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, limit - used)));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil((windowStart + 60_000) / 1000)));
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return errors(res, 401, [{ message: 'authorization required', field: null }]);
    }
    if (used > limit) return errors(res, 429, [{ message: 'too many requests', field: null }]);
    next();
  });

  provider.app.use('/v3/mail/send', express.json({ limit: MAX_BODY, type: () => true }));
  provider.route('post', '/v3/mail/send', 'mailSend', (req, res) => {
    const body = req.body as MailSendBody;
    const problems = validateMail(body ?? {});
    if (problems.length) return errors(res, 400, problems);
    const messageId = randomBytes(16).toString('base64url').slice(0, 22);
    sent.push({ messageId, body, receivedAt: new Date() });
    for (const p of body.personalizations ?? []) {
      for (const to of p.to ?? []) {
        messages.unshift({
          msg_id: messageId,
          from_email: body.from?.email ?? '',
          to_email: to.email ?? '',
          subject: p.subject ?? body.subject ?? '',
          status: 'processed',
          opens_count: 0,
          clicks_count: 0,
          last_event_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        });
      }
    }
    res.setHeader('X-Message-Id', messageId);
    res.status(202).end();
    const now = Math.floor(Date.now() / 1000);
    // As SendGrid's Event Webhook does: the message's custom args ride on each event, top level.
    webhooks.post(
      (body.personalizations ?? []).flatMap((p) =>
        (p.to ?? []).flatMap((t) =>
          (['processed', 'delivered'] as const).map((event) => ({
            ...body.custom_args,
            ...p.custom_args,
            email: t.email ?? '',
            event,
            timestamp: now,
            sg_event_id: randomBytes(16).toString('base64url'),
            sg_message_id: `${messageId}.filterdrecv-${randomBytes(4).toString('hex')}`,
          })),
        ),
      ),
    );
  });

  provider.route('get', '/v3/messages', 'activityQuery', (req, res) => {
    const query = typeof req.query.query === 'string' ? req.query.query : undefined;
    const matches = query ? parseActivityQuery(query) : undefined;
    if (!matches) return errors(res, 400, [{ message: 'invalid query', field: 'query' }]);
    const max = req.query.limit === undefined ? 10 : Number(req.query.limit);
    if (!Number.isInteger(max) || max < 1 || max > 1000) {
      return errors(res, 400, [{ message: 'limit must be greater than 0 and less than or equal to 1000', field: 'limit' }]);
    }
    res.json({ messages: messages.filter(matches).slice(0, max) });
  });

  provider.route('get', '/v3/suppression/bounces/:email', 'getBounce', (req, res) => {
    const email = String(req.params.email).toLowerCase();
    res.json(bounces.filter((b) => b.email === email));
  });

  provider.route('get', '/v3/suppression/bounces', 'listBounces', (req, res) => {
    const max = req.query.limit === undefined ? 500 : Number(req.query.limit);
    const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
    if (!Number.isInteger(max) || max < 1 || max > 500 || !Number.isInteger(offset) || offset < 0) {
      return errors(res, 400, [{ message: 'limit must be 1 to 500 and offset 0 or more', field: 'limit' }]);
    }
    const prefix = typeof req.query.email === 'string' ? req.query.email.toLowerCase() : '';
    res.json(bounces.filter((b) => b.email.startsWith(prefix)).slice(offset, offset + max));
  });

  return Object.assign(provider, { sent, deliverWebhooksTo: webhooks.deliverTo });
}

export const sandboxProvider = defineSandboxProvider({
  name: 'sendgrid',
  create: (seed, credentials) =>
    createSendgridSandbox({
      messages: seed.messages,
      bounces: seed.bounces,
      apiKey: credentials.SENDGRID_API_KEY,
      webhookPrivateKey: credentials.SANDBOX_SENDGRID_WEBHOOK_PRIVATE_KEY,
    }),
  env: (url) => ({ SENDGRID_API_URL: url }),
  webhookPath: '/webhooks/sendgrid',
});
