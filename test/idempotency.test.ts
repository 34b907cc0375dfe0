/**
 * Idempotent sendEmail: the same key never mails twice, through the gateway, counted at the
 * sandbox SendGrid. The replica test shares keys in a real Redis (redis-server from Debian,
 * installed by .ci/run); without the binary it is skipped with one line saying so.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SendEmailDocument, type SendEmailInput } from '../clients/web/__generated__/operations.js';
import { web } from '../gateway/clients/web.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/process/service.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { subgraph as email } from '../subgraphs/email/index.js';
import { ADMIN_USER, HAS_REDIS, as, graphql, startRedis, until } from './helpers.js';

if (!HAS_REDIS) console.warn('redis-server not found: the Redis replica test is skipped (.ci/run installs it)');

let stack: Stack;
let gateway: string;
let headers: Record<string, string>;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  gateway = `${stack.gateways.web!.url}/graphql`;
  headers = await as(ADMIN_USER, 'admin');
});
afterAll(() => stack?.close());

let counter = 0;
const mail = (over: Partial<SendEmailInput> = {}): SendEmailInput => ({
  to: `idem${++counter}@example.com`,
  subject: 'Receipt',
  text: 'Thanks',
  ...over,
});
const sendgridSends = (to: string) => stack.sandbox.providers.sendgrid.sent.filter((m) => JSON.stringify(m.body).includes(to)).length;
const send = (url: string, input: SendEmailInput, extra: Record<string, string> = {}) =>
  graphql(url, SendEmailDocument, { input }, { ...headers, ...extra });
interface EmailSendState {
  emailSend: {
    idempotencyKey: string;
    state: string;
    sendId: string;
    messageId: string | null;
    provider: string | null;
    status: string | null;
  } | null;
}
const emailSend = async (key: string, caller?: Record<string, string>) =>
  graphql<EmailSendState, { key: string }>(
    gateway,
    'query($key: String!) { emailSend(idempotencyKey: $key) { idempotencyKey state sendId messageId provider status } }',
    { key },
    caller ?? headers,
  );
/** Asks until the answer is as wanted; the last answer. */
async function answerWhen<T>(ask: () => Promise<T>, wanted: (value: T) => boolean): Promise<T> {
  let value = await ask();
  if (!wanted(value)) await until(async () => wanted((value = await ask())));
  return value;
}

describe('sendEmail with an idempotency key', () => {
  test('a client retry with the same key returns the first result and sends nothing', async () => {
    const input = mail({ idempotencyKey: 'retry-1' });
    const first = await send(gateway, input);
    const again = await send(gateway, input);
    expect(first.body.errors).toBeUndefined();
    expect(again.body.data).toEqual(first.body.data);
    expect(sendgridSends(input.to)).toBe(1);
  });

  test('the Idempotency-Key header works as the input field does', async () => {
    const input = mail();
    const first = await send(gateway, input, { 'idempotency-key': 'header-1' });
    const again = await send(gateway, input, { 'idempotency-key': 'header-1' });
    expect(again.body.data).toEqual(first.body.data);
    expect(sendgridSends(input.to)).toBe(1);
  });

  test('concurrent identical requests: one send, every caller gets its result', async () => {
    stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', latencyMs: 200 }]);
    try {
      const input = mail({ idempotencyKey: 'concurrent-1' });
      const results = await Promise.all(Array.from({ length: 10 }, () => send(gateway, input)));
      expect(new Set(results.map((r) => JSON.stringify(r.body.data))).size).toBe(1);
      expect(results[0]!.body.data!.sendEmail.messageId).toBe(stack.sandbox.providers.sendgrid.sent.at(-1)!.messageId);
      expect(sendgridSends(input.to)).toBe(1);
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  test('without a key, identical concurrent sends are as many sends: mutations are never merged', async () => {
    stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', latencyMs: 200 }]);
    try {
      const input = mail();
      const results = await Promise.all([send(gateway, input), send(gateway, input), send(gateway, input)]);
      expect(results.map((r) => r.body.errors)).toEqual([undefined, undefined, undefined]);
      expect(sendgridSends(input.to)).toBe(3);
    } finally {
      stack.sandbox.clearFaults();
    }
  });

  test('the same key with another message is refused', async () => {
    await send(gateway, mail({ idempotencyKey: 'reused-1' }));
    const other = await send(gateway, mail({ idempotencyKey: 'reused-1' }));
    expect(other.body.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', retryable: false });
  });

  test('a provider timeout after it accepted the mail: the first answer already says so, the retry does not send, emailSend learns the message', async () => {
    // SendGrid takes the message, but answers after the source's 2 s timeout.
    stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', latencyMs: 2500, times: 1 }]);
    const input = mail({ idempotencyKey: 'timeout-1' });
    const first = await send(gateway, input);
    expect(first.body.errors?.[0]?.extensions).toMatchObject({
      code: 'IDEMPOTENT_OUTCOME_UNKNOWN',
      retryable: false,
      cause: 'UPSTREAM_TIMEOUT',
    });
    expect(first.body.errors?.[0]?.message).toContain('emailSend(idempotencyKey)');
    // SendGrid records the message when its late answer goes out.
    await until(() => sendgridSends(input.to) === 1, { what: 'the late send to be recorded' });
    const retry = await send(gateway, input);
    expect(retry.body.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENT_OUTCOME_UNKNOWN', retryable: false });
    expect(sendgridSends(input.to)).toBe(1);
    // The message carries the send id; its delivery webhook names it, and the key's state follows.
    const state = await answerWhen(
      async () => (await emailSend('timeout-1')).body.data?.emailSend,
      (sent) => sent?.state === 'ACCEPTED',
    );
    const message = stack.sandbox.providers.sendgrid.sent.find((m) => JSON.stringify(m.body).includes(input.to))!;
    expect(state).toMatchObject({
      idempotencyKey: 'timeout-1',
      state: 'ACCEPTED',
      provider: 'sendgrid',
      messageId: message.messageId,
      status: 'DELIVERED',
    });
  });

  test("emailSend: an accepted send, a key never used, and another user's key", async () => {
    const input = mail({ idempotencyKey: 'lookup-1' });
    const sent = (await send(gateway, input)).body.data!.sendEmail;
    expect((await emailSend('lookup-1')).body.data?.emailSend).toMatchObject({
      state: 'ACCEPTED',
      messageId: sent.messageId,
      sendId: sent.sendId,
      provider: 'sendgrid',
    });
    expect((await emailSend('never-used')).body.data?.emailSend).toBeNull();
    expect((await emailSend('lookup-1', await as('usr_00009', 'email:send'))).body.data?.emailSend).toBeNull();
    expect((await emailSend('lookup-1', await as(ADMIN_USER))).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('a failure before the provider took the mail frees the key: the retry sends', async () => {
    // Every provider refuses it (so it fails over to none that would take it): provably not sent.
    stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 400, times: 1 }]);
    stack.sandbox.faults('mailgun', [{ operation: 'messages', status: 400, times: 1 }]);
    stack.sandbox.faults('postmark', [{ operation: 'email', status: 422, times: 1 }]);
    const input = mail({ idempotencyKey: 'rejected-1' });
    expect((await send(gateway, input)).body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_REJECTED');
    expect((await send(gateway, input)).body.errors).toBeUndefined();
    expect(sendgridSends(input.to)).toBe(1);
  });
});

describe('two replicas (gateway + email subgraph each)', () => {
  const extra: RunningService[] = [];
  afterAll(async () => {
    await Promise.all(extra.map((s) => s.close()));
  });

  async function replica(redisUrl?: string) {
    const subgraph = await startSubgraph(email, {
      ...stack.sandbox.env(),
      EMAIL_PORT: '0',
      LOG_LEVEL: 'silent',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    });
    const gw = await startGateway(web, {
      ...stack.subgraphUrls,
      EMAIL_SUBGRAPH_URL: `${subgraph.url}/graphql`,
      WEB_GATEWAY_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    extra.push(gw, subgraph);
    return `${gw.url}/graphql`;
  }

  (HAS_REDIS ? test : test.skip)(
    'sharing Redis, the same key sent to both at once mails once',
    async () => {
      const redis = await startRedis();
      try {
        const [a, b] = [await replica(redis.url), await replica(redis.url)];
        stack.sandbox.faults('sendgrid', [{ operation: 'mailSend', latencyMs: 200 }]);
        const input = mail({ idempotencyKey: 'replicas-1' });
        const results = await Promise.all([send(a, input), send(b, input), send(a, input), send(b, input)]);
        expect(results.map((r) => r.body.errors)).toEqual([undefined, undefined, undefined, undefined]);
        expect(new Set(results.map((r) => JSON.stringify(r.body.data))).size).toBe(1);
        expect(sendgridSends(input.to)).toBe(1);
      } finally {
        stack.sandbox.clearFaults();
        redis.process.kill();
      }
    },
    30_000,
  );

  test('without a shared store each replica keeps its own keys: why REDIS_URL matters', async () => {
    const [a, b] = [await replica(), await replica()];
    const input = mail({ idempotencyKey: 'replicas-2' });
    await send(a, input);
    await send(b, input);
    expect(sendgridSends(input.to)).toBe(2);
  });
});
