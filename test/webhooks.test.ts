/**
 * Delivery-event webhooks at the email subgraph: SendGrid's published signature vector, the
 * sandbox's signed webhooks moving a sent message to DELIVERED, and forged, altered, stale
 * and replayed requests refused and counted.
 */
import { createHmac, createPrivateKey, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DashboardDocument, SendEmailDocument } from '../clients/web/__generated__/operations.js';
import { LOCAL } from '../kit/local-defaults.js';
import { createIdempotencyStore, firstUse } from '../kit/idempotency.js';
import { createLogger } from '../kit/logger.js';
import { connectRedis } from '../kit/redis.js';
import { verifyEcdsaP256 } from '../kit/webhooks.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { createMessageStatuses, type MessageStatuses } from '../subgraphs/email/source.js';
import { ADMIN_USER, HAS_REDIS, as, graphql, startRedis } from './helpers.js';

let stack: Stack;
let hooks: string;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  hooks = `${stack.subgraphs.email!.url}/webhooks`;
});
afterAll(() => stack?.close());

describe('SendGrid Event Webhook signature', () => {
  // sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js (providers.md §7)
  const PUBLIC_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==';
  const SIGNATURE = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
  const TIMESTAMP = '1588788367';
  const PAYLOAD = '{"category":"example_payload","event":"test_event","message_id":"message_id"}';

  test('the published vector verifies; one added byte does not', () => {
    expect(verifyEcdsaP256(PUBLIC_KEY, SIGNATURE, Buffer.from(TIMESTAMP + PAYLOAD))).toBe(true);
    expect(verifyEcdsaP256(PUBLIC_KEY, SIGNATURE, Buffer.from(`${TIMESTAMP + PAYLOAD}\r\n`))).toBe(false);
  });
});

const signSendgrid = (body: string, timestamp = Math.floor(Date.now() / 1000), privateKey: string = LOCAL.webhooks.sendgridPrivateKey) => ({
  'x-twilio-email-event-webhook-timestamp': String(timestamp),
  'x-twilio-email-event-webhook-signature': createSign('sha256')
    .update(String(timestamp) + body)
    .sign(createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' }))
    .toString('base64'),
});
const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${hooks}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const events = (messageId: string) => JSON.stringify([{ event: 'open', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: `${messageId}.x`, email: 'a@example.com' }]);

describe('the email subgraph receives delivery webhooks', () => {
  test('a message sent through the sandbox moves to DELIVERED on its signed webhook', async () => {
    const user = stack.sandbox.seed.users[0]!;
    const sent = await graphql(`${stack.gateways.web!.url}/graphql`, SendEmailDocument, { input: { to: user.email, subject: 'Webhook check', text: 'Hi' } });
    const messageId = sent.body.data!.sendEmail.messageId;
    let status: string | undefined;
    for (let i = 0; i < 50 && status !== 'DELIVERED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const { body } = await graphql(`${stack.gateways.web!.url}/graphql`, DashboardDocument, { userId: user.id }, await as(user.id));
      status = body.data!.user!.emailMessages!.find((m) => m.id === messageId)?.status;
    }
    expect(status).toBe('DELIVERED');
  });

  test('SendGrid: a forged, an altered, a stale and a replayed request are refused and counted', async () => {
    const body = events('msg-sg-1');
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    expect((await post('sendgrid', body, signSendgrid(body, undefined, other))).status).toBe(401);
    expect((await post('sendgrid', body.replace('open', 'bounce'), signSendgrid(body))).status).toBe(401);
    expect((await post('sendgrid', body, signSendgrid(body, Math.floor(Date.now() / 1000) - 3600))).status).toBe(401);
    const signed = signSendgrid(body);
    expect((await post('sendgrid', body, signed)).status).toBe(200);
    expect((await post('sendgrid', body, signed)).status).toBe(401);
    const metrics = await (await fetch(`${stack.subgraphs.email!.url}/metrics`)).text();
    for (const outcome of ['forged', 'stale', 'replayed']) {
      expect(metrics).toMatch(new RegExp(`patchbay_webhooks_total\\{provider="sendgrid",outcome="${outcome}"[^}]*\\} [1-9]`));
    }
  });

  test('Mailgun: HMAC over timestamp + token, each token once, recent only', async () => {
    const mailgun = (token: string, timestamp = Math.floor(Date.now() / 1000), key: string = LOCAL.webhooks.mailgunSigningKey) =>
      JSON.stringify({
        signature: { timestamp: String(timestamp), token, signature: createHmac('sha256', key).update(String(timestamp) + token).digest('hex') },
        'event-data': { event: 'delivered', message: { headers: { 'message-id': '<mg-1@example.com>' } } },
      });
    const token = randomBytes(25).toString('hex');
    expect((await post('mailgun', mailgun(token))).status).toBe(200);
    expect((await post('mailgun', mailgun(token))).status).toBe(401);
    expect((await post('mailgun', mailgun(randomBytes(25).toString('hex'), undefined, 'not-the-key'))).status).toBe(401);
    expect((await post('mailgun', mailgun(randomBytes(25).toString('hex'), Math.floor(Date.now() / 1000) - 3600))).status).toBe(401);
    expect((await post('mailgun', '{"not":"mailgun"}')).status).toBe(400);
  });

  test('Postmark: basic auth, nothing else', async () => {
    const body = JSON.stringify({ RecordType: 'Delivery', MessageID: 'pm-1' });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    expect((await post('postmark', body, basic(LOCAL.webhooks.postmarkUser, LOCAL.webhooks.postmarkPassword))).status).toBe(200);
    expect((await post('postmark', body, basic(LOCAL.webhooks.postmarkUser, 'guess'))).status).toBe(401);
    expect((await post('postmark', body)).status).toBe(401);
  });
});

test('the webhook routes open no door to /graphql: it still needs the caller header', async () => {
  const { status } = await graphql(`${stack.subgraphs.email!.url}/graphql`, '{ __typename }', undefined, await as(ADMIN_USER, 'admin'));
  expect(status).toBe(401);
});

(HAS_REDIS ? describe : describe.skip)('delivery statuses shared through Redis', () => {
  test('what one replica heard, every replica shows; a late event never moves a status back; replays are caught anywhere', async () => {
    const redis = await startRedis();
    // Two replicas: a connection each.
    const connections = [0, 1].map(() => connectRedis(redis.url, { commandTimeoutMs: 500, logger: createLogger('test', 'silent') }));
    const [a, b] = connections.map((c) => createMessageStatuses(c)) as [MessageStatuses, MessageStatuses];
    const keys = connections.map((c) => createIdempotencyStore(c));
    try {
      await a.record('shared-1', 'OPENED');
      await b.record('shared-1', 'DELIVERED');
      expect(await b.of([{ id: 'shared-1', status: 'PROCESSED' }, { id: 'shared-2', status: 'PROCESSED' }])).toEqual(['OPENED', 'PROCESSED']);
      await b.record('shared-2', 'BOUNCED');
      expect(await a.of([{ id: 'shared-2', status: 'DELIVERED' }])).toEqual(['BOUNCED']);
      // A webhook replayed to the other replica is caught there too.
      expect(await firstUse(keys[0]!, 'mailgun:token-1', 600_000)).toBe(true);
      expect(await firstUse(keys[1]!, 'mailgun:token-1', 600_000)).toBe(false);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
      redis.process.kill();
    }
  });
});
