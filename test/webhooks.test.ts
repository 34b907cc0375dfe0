/**
 * Delivery-event webhooks at the email subgraph: SendGrid's published signature vector, the
 * sandbox's signed webhooks moving a sent message to DELIVERED, forged, altered and stale
 * requests refused and counted, and events applied once each: a retried or replayed batch
 * applies only what it adds.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DashboardDocument, SendEmailDocument } from '../clients/web/__generated__/operations.js';
import { appliedEvents, createIdempotencyStore } from '../kit/state/idempotency.js';
import { createLogger } from '../kit/process/logger.js';
import { connectRedis } from '../kit/state/redis.js';
import { createEventStream } from '../kit/state/event-stream.js';
import { EMAIL_EVENTS } from '../subgraphs/email/events.js';
import { ecdsaP256Verifier } from '../kit/subgraph/webhook-signatures.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { subgraph as email } from '../subgraphs/email/index.js';
import { createMessageStatuses, type MessageStatuses } from '../subgraphs/email/statuses.js';
import { ADMIN_USER, HAS_REDIS, as, graphql, signSendgrid, startRedis, until } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

let stack: Stack;
let hooks: string;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  hooks = `${stack.subgraphs.email!.url}/webhooks`;
});
afterAll(() => stack?.close());

describe('SendGrid Event Webhook signature', () => {
  // sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js (providers.md §7)
  const PUBLIC_KEY =
    'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==';
  const SIGNATURE = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
  const TIMESTAMP = '1588788367';
  const PAYLOAD = '{"category":"example_payload","event":"test_event","message_id":"message_id"}';

  test('the published vector verifies; one added byte does not', () => {
    const check = (...parts: string[]) => {
      const started = ecdsaP256Verifier(PUBLIC_KEY)(SIGNATURE);
      for (const part of parts) started.update(Buffer.from(part));
      return started.matches();
    };
    expect(check(TIMESTAMP, PAYLOAD)).toBe(true);
    expect(check(TIMESTAMP, PAYLOAD.slice(0, 20), PAYLOAD.slice(20))).toBe(true);
    expect(check(TIMESTAMP, `${PAYLOAD}\r\n`)).toBe(false);
  });
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${hooks}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const answer = async (response: Promise<Response>) => {
  const settled = await response;
  return { status: settled.status, body: (await settled.json()) as unknown };
};
const events = (messageId: string) =>
  JSON.stringify([{ event: 'open', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: `${messageId}.x`, email: 'a@example.com' }]);

describe('the email subgraph receives delivery webhooks', () => {
  test('a message sent through the sandbox moves to DELIVERED on its signed webhook', async () => {
    const user = stack.sandbox.seed.users[0]!;
    const sent = await graphql(`${stack.gateways.web!.url}/graphql`, SendEmailDocument, {
      input: { to: user.email, subject: 'Webhook check', text: 'Hi' },
    });
    const messageId = sent.body.data!.sendEmail.messageId;
    const status = async () => {
      const { body } = await graphql(`${stack.gateways.web!.url}/graphql`, DashboardDocument, { userId: user.id }, await as(user.id));
      return body.data!.user!.emailMessages!.find((m) => m.id === messageId)?.status;
    };
    await until(async () => (await status()) === 'DELIVERED', { what: 'the webhook to be applied' });
    expect(await status()).toBe('DELIVERED');
  });

  test('a message sent through Mailgun moves to DELIVERED on its signed webhook, named by the send id it carried', async () => {
    // SendGrid refuses the key (a 401: provably not sent), so the send goes on to Mailgun.
    stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 401 }]);
    try {
      const user = stack.sandbox.seed.users[1]!;
      const headers = await as(user.id, 'email:send');
      const idempotencyKey = `mailgun-webhook-${randomBytes(4).toString('hex')}`;
      const sent = await graphql(
        `${stack.gateways.web!.url}/graphql`,
        SendEmailDocument,
        { input: { to: user.email, subject: 'Through Mailgun', text: 'Hi', idempotencyKey } },
        headers,
      );
      expect(sent.body.data?.sendEmail.provider).toBe('mailgun');
      type Send = { state: string; provider: string | null; status: string | null };
      const send = async () => {
        const { body } = await graphql<{ emailSend: Send | null }, { key: string }>(
          `${stack.gateways.web!.url}/graphql`,
          'query ($key: String!) { emailSend(idempotencyKey: $key) { state provider status } }',
          { key: idempotencyKey },
          headers,
        );
        return body.data?.emailSend;
      };
      await until(async () => (await send())?.status === 'DELIVERED', { what: 'the Mailgun webhook to be applied' });
      expect(await send()).toEqual({ state: 'ACCEPTED', provider: 'mailgun', status: 'DELIVERED' });
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  test('SendGrid: a forged, an altered and a stale request are refused and counted; a replay applies nothing', async () => {
    const body = events('msg-sg-1');
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
    expect((await post('sendgrid', body, signSendgrid(body, undefined, other))).status).toBe(401);
    expect((await post('sendgrid', body.replace('open', 'bounce'), signSendgrid(body))).status).toBe(401);
    expect((await post('sendgrid', body, signSendgrid(body, Math.floor(Date.now() / 1000) - 3600))).status).toBe(401);
    const signed = signSendgrid(body);
    expect(await answer(post('sendgrid', body, signed))).toEqual({ status: 200, body: { received: 1, applied: 1, duplicates: 0 } });
    expect(await answer(post('sendgrid', body, signed))).toEqual({ status: 200, body: { received: 1, applied: 0, duplicates: 1 } });
    const metrics = await (await fetch(`${stack.subgraphs.email!.metricsUrl}/metrics`)).text();
    for (const outcome of ['forged', 'stale', 'duplicate']) {
      expect(metrics).toMatch(new RegExp(`patchbay_webhooks_total\\{provider="sendgrid",outcome="${outcome}"[^}]*\\} [1-9]`));
    }
  });

  test('SendGrid: a batch that repeats a known event applies the new ones; events without ids are known by message, event and time', async () => {
    const user = stack.sandbox.seed.users[1]!;
    const sent = await graphql(`${stack.gateways.web!.url}/graphql`, SendEmailDocument, {
      input: { to: user.email, subject: 'Batch check', text: 'Hi' },
    });
    const messageId = sent.body.data!.sendEmail.messageId;
    const e1 = { event: 'delivered', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: `${messageId}.filter`, timestamp: 1 };
    const e2 = { event: 'open', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: `${messageId}.filter`, timestamp: 2 };
    const send = (batch: object[]) => answer(post('sendgrid', JSON.stringify(batch), signSendgrid(JSON.stringify(batch))));
    expect((await send([e1])).body).toEqual({ received: 1, applied: 1, duplicates: 0 });
    expect((await send([e1, e2])).body).toEqual({ received: 2, applied: 1, duplicates: 1 });
    expect((await send([e2])).body).toEqual({ received: 1, applied: 0, duplicates: 1 });
    const { body } = await graphql(`${stack.gateways.web!.url}/graphql`, DashboardDocument, { userId: user.id }, await as(user.id));
    expect(body.data!.user!.emailMessages!.find((m) => m.id === messageId)?.status).toBe('OPENED');

    const withoutId = [{ event: 'open', sg_message_id: `${messageId}.filter`, timestamp: 1_795_000_000 }];
    expect((await send(withoutId)).body).toEqual({ received: 1, applied: 1, duplicates: 0 });
    expect((await send(withoutId)).body).toEqual({ received: 1, applied: 0, duplicates: 1 });
    expect((await send([{ ...withoutId[0], timestamp: 1_795_000_001 }])).body).toEqual({ received: 1, applied: 1, duplicates: 0 });
  });

  test('Mailgun: HMAC over timestamp + token, each token once, recent only', async () => {
    const mailgun = (
      token: string,
      timestamp = Math.floor(Date.now() / 1000),
      key: string = providerEntry('mailgun').credentials.webhookSigningKey,
    ) =>
      JSON.stringify({
        signature: {
          timestamp: String(timestamp),
          token,
          signature: createHmac('sha256', key)
            .update(String(timestamp) + token)
            .digest('hex'),
        },
        'event-data': { event: 'delivered', message: { headers: { 'message-id': '<mg-1@example.com>' } } },
      });
    // One body posted twice: a redelivery is byte-for-byte the same request.
    const delivered = mailgun(randomBytes(25).toString('hex'));
    expect(await answer(post('mailgun', delivered))).toEqual({ status: 200, body: { received: 1, applied: 1, duplicates: 0 } });
    expect(await answer(post('mailgun', delivered))).toEqual({ status: 200, body: { received: 1, applied: 0, duplicates: 1 } });
    expect((await post('mailgun', mailgun(randomBytes(25).toString('hex'), undefined, 'not-the-key'))).status).toBe(401);
    expect((await post('mailgun', mailgun(randomBytes(25).toString('hex'), Math.floor(Date.now() / 1000) - 3600))).status).toBe(401);
    expect((await post('mailgun', '{"not":"mailgun"}')).status).toBe(400);
  });

  test('Postmark: basic auth as RFC 7617 has it (split at the first colon), each event once', async () => {
    // A password with colons in it, as a deployment may choose.
    const password = 'pass:word:with:colons';
    const own = await startSubgraph(email, {
      ...stack.sandbox.env(),
      EMAIL_PORT: '0',
      LOG_LEVEL: 'silent',
      POSTMARK_WEBHOOK_PASSWORD: password,
    });
    try {
      const postmark = (body: string, authorization?: string) =>
        fetch(`${own.url}/webhooks/postmark`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body,
        });
      const basic = (credentials: string, scheme = 'Basic') => `${scheme} ${Buffer.from(credentials).toString('base64')}`;
      const user = providerEntry('postmark').credentials.webhookUser;
      const body = JSON.stringify({
        RecordType: 'Delivery',
        MessageID: `pm-${randomBytes(4).toString('hex')}`,
        DeliveredAt: new Date().toISOString(),
      });
      expect(await answer(postmark(body, basic(`${user}:${password}`)))).toEqual({
        status: 200,
        body: { received: 1, applied: 1, duplicates: 0 },
      });
      expect(await answer(postmark(body, basic(`${user}:${password}`, 'basic')))).toEqual({
        status: 200,
        body: { received: 1, applied: 0, duplicates: 1 },
      });
      for (const refused of [
        basic(`${user}:pass:word`),
        basic(`${user}:${password}:extra`),
        basic(`${user}:guess`),
        basic(user),
        `Bearer ${password}`,
        undefined,
      ]) {
        const response = await postmark(body, refused);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      }
    } finally {
      await own.close();
    }
  });
});

test('the webhook routes open no door to /graphql: it still needs the caller header', async () => {
  const { status } = await graphql(`${stack.subgraphs.email!.url}/graphql`, '{ __typename }', undefined, await as(ADMIN_USER, 'admin'));
  expect(status).toBe(401);
});

(HAS_REDIS ? describe : describe.skip)('delivery statuses shared through Redis', () => {
  test('what one replica heard, every replica shows; a late event never moves a status back; events applied anywhere are known everywhere', async () => {
    const redis = await startRedis();
    // Two replicas: a connection each.
    const connections = [0, 1].map(() => connectRedis(redis.url, { commandTimeoutMs: 500, logger: createLogger('test', 'silent') }));
    const [a, b] = connections.map((c) => createMessageStatuses(c)) as [MessageStatuses, MessageStatuses];
    const keys = connections.map((c) => createIdempotencyStore(c));
    try {
      await a.record('shared-1', 'OPENED');
      await b.record('shared-1', 'DELIVERED');
      expect(
        await b.of([
          { id: 'shared-1', status: 'PROCESSED' },
          { id: 'shared-2', status: 'PROCESSED' },
        ]),
      ).toEqual(['OPENED', 'PROCESSED']);
      await b.record('shared-2', 'BOUNCED');
      expect(await a.of([{ id: 'shared-2', status: 'DELIVERED' }])).toEqual(['BOUNCED']);
      // An event applied through one replica is known to the other: a retry there applies nothing.
      const [one, two] = keys.map((store) => appliedEvents(store!, 600_000));
      expect(await one!.unseen(['sendgrid:e-1', 'sendgrid:e-2'])).toEqual(['sendgrid:e-1', 'sendgrid:e-2']);
      await one!.remember(['sendgrid:e-1']);
      expect(await two!.unseen(['sendgrid:e-1', 'sendgrid:e-2', 'sendgrid:e-2'])).toEqual(['sendgrid:e-2']);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
      redis.process.kill();
    }
  });
});

(HAS_REDIS ? describe : describe.skip)('webhooks while Redis is away', () => {
  test('a delivery is answered 503 with Retry-After, as JSON, and applied in full when the provider sends it again', async () => {
    const redis = await startRedis();
    const own = await startSubgraph(email, { ...stack.sandbox.env(), EMAIL_PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url });
    try {
      const batch = JSON.stringify([
        { event: 'delivered', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: 'away-1.x', timestamp: 1 },
        { event: 'open', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: 'away-1.x', timestamp: 2 },
      ]);
      const deliver = () =>
        fetch(`${own.url}/webhooks/sendgrid`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signSendgrid(batch) },
          body: batch,
        });
      redis.process.kill('SIGSTOP');
      const away = await deliver();
      expect(away.status).toBe(503);
      expect(away.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await away.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'STORE_UNAVAILABLE' } }] });
      redis.process.kill('SIGCONT');
      let again: Response | undefined;
      await until(async () => (again = await deliver()).status === 200, { timeoutMs: 10_000, what: 'Redis to answer again' });
      expect(await again!.json()).toEqual({ received: 2, applied: 2, duplicates: 0 });
    } finally {
      redis.process.kill('SIGCONT');
      await own.close();
      redis.process.kill();
    }
  });
});

(HAS_REDIS ? describe : describe.skip)('delivery events on the email event stream', () => {
  test('each stored delivery is told once on the stream every replica follows, with whose message it is; a retried webhook tells nothing again', async () => {
    const redis = await startRedis();
    const own = await startSubgraph(email, { ...stack.sandbox.env(), EMAIL_PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url });
    const connection = connectRedis(redis.url, { commandTimeoutMs: 500, logger: createLogger('test', 'silent') });
    const stream = createEventStream({
      name: 'email',
      types: EMAIL_EVENTS,
      retention: { maxLength: 1000, maxAgeMs: 60_000 },
      logger: createLogger('test', 'silent'),
      redis: connection,
      blockMs: 200,
    });
    const controller = new AbortController();
    const told: Array<{ type: string; data: Record<string, unknown> }> = [];
    const following = (async () => {
      for await (const event of stream.follow('0-0', controller.signal)) told.push({ type: event.type, data: event.data });
    })();
    const deliver = (batch: string) =>
      fetch(`${own.url}/webhooks/sendgrid`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signSendgrid(batch) },
        body: batch,
      });
    try {
      const batch = JSON.stringify([
        {
          event: 'delivered',
          sg_event_id: 'told-e1',
          sg_message_id: 'told-1.x',
          timestamp: 1,
          email: 'Told@Example.com',
          patchbay_send_id: 'snd_1',
        },
        { event: 'open', sg_event_id: 'told-e2', sg_message_id: 'told-1.x', timestamp: 2, email: 'Told@Example.com' },
      ]);
      expect(await (await deliver(batch)).json()).toEqual({ received: 2, applied: 2, duplicates: 0 });
      expect(await (await deliver(batch)).json()).toEqual({ received: 2, applied: 0, duplicates: 2 });
      // A later delivery: what is told after the retry is it, not the retried events again.
      const later = JSON.stringify([
        { event: 'bounce', sg_event_id: 'told-e3', sg_message_id: 'told-2.x', timestamp: 3, email: 'other@example.com' },
      ]);
      await deliver(later);
      await until(() => told.length >= 3, { what: 'three events told' });
      expect(told).toEqual([
        {
          type: 'EmailMessageStatusChanged',
          data: {
            messageId: 'told-1',
            status: 'DELIVERED',
            provider: 'sendgrid',
            recipient: 'told@example.com',
            sendId: 'snd_1',
            deliveryId: 'sendgrid:told-e1',
          },
        },
        {
          type: 'EmailMessageStatusChanged',
          data: {
            messageId: 'told-1',
            status: 'OPENED',
            provider: 'sendgrid',
            recipient: 'told@example.com',
            deliveryId: 'sendgrid:told-e2',
          },
        },
        {
          type: 'EmailMessageStatusChanged',
          data: {
            messageId: 'told-2',
            status: 'BOUNCED',
            provider: 'sendgrid',
            recipient: 'other@example.com',
            deliveryId: 'sendgrid:told-e3',
          },
        },
      ]);
    } finally {
      controller.abort();
      await following.catch(() => undefined);
      await stream.close();
      await connection.close();
      await own.close();
      redis.process.kill();
    }
  });
});
