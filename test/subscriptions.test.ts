/**
 * Subscriptions through the web gateway over GraphQL over SSE (graphql-sse's own client, distinct
 * connections), the gateway subscribing to the email subgraph the same way: a user follows what
 * becomes of their keyed send as the provider's delivery webhooks tell it; another user, or the
 * same key of another user, sees nothing of it; a client that reconnects with the last event id
 * gets what it missed, once; an id older than what is kept is told RESYNC_REQUIRED.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient, type Client } from 'graphql-sse';
import { SendEmailDocument } from '../clients/web/__generated__/operations.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { startGateway } from '../gateway/index.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { subgraph as email } from '../subgraphs/email/index.js';
import { web } from '../gateway/clients/web.js';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { as, graphql, openEventStream, streamFollowers, until } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => stack?.close());

const SEND_UPDATED = `subscription SendUpdated($key: String!, $after: String) {
  emailSendUpdated(idempotencyKey: $key, after: $after) { eventId send { idempotencyKey state status messageId } }
}`;

interface Update {
  eventId: string;
  send: { idempotencyKey: string; state: string; status: string | null; messageId: string | null };
}

/** One subscriber: a graphql-sse client of the web gateway, as the user. */
async function subscriber(userId: string, variables: { key: string; after?: string }) {
  const headers = await as(userId, 'email:send');
  const client: Client = createClient({ url: `${stack.gateways.web!.url}/graphql`, headers, retryAttempts: 0 });
  const updates: Update[] = [];
  const errors: Array<{ message: string; extensions?: Record<string, unknown> }> = [];
  let completed = false;
  const unsubscribe = client.subscribe<{ emailSendUpdated: Update }>(
    { query: SEND_UPDATED, variables },
    {
      next: (result) => {
        if (result.data?.emailSendUpdated) updates.push(result.data.emailSendUpdated);
        errors.push(...((result.errors ?? []) as unknown as typeof errors));
      },
      error: (error) => errors.push({ message: String(error) }),
      complete: () => (completed = true),
    },
  );
  return {
    updates,
    errors,
    completed: () => completed,
    stop() {
      unsubscribe();
      client.dispose();
    },
  };
}

const send = async (userId: string, key: string, to: string) =>
  graphql(
    `${stack.gateways.web!.url}/graphql`,
    SendEmailDocument,
    { input: { to, subject: `Subscribed ${key}`, text: 'Hi', idempotencyKey: key } },
    await as(userId, 'email:send'),
  );

describe('emailSendUpdated over SSE through the gateway', () => {
  test("a user follows their send as its webhooks arrive; another user's subscription to the same key sees nothing", async () => {
    const [alice, bob] = stack.sandbox.seed.users;
    const key = `sub-${Date.now()}`;
    // From the start of what is kept ('0-0'): whether the webhooks come before or after the
    // subscriptions are up, every update arrives (live, or replayed).
    const own = await subscriber(alice!.id, { key, after: '0-0' });
    const other = await subscriber(bob!.id, { key, after: '0-0' });
    try {
      const sent = await send(alice!.id, key, alice!.email);
      const messageId = sent.body.data!.sendEmail.messageId;
      await until(() => own.updates.some((u) => u.send.status === 'DELIVERED') || own.errors.length > 0, { what: 'the DELIVERED update' });
      expect(own.errors).toEqual([]);
      expect(own.updates.every((u) => u.send.messageId === messageId && u.send.idempotencyKey === key && u.send.state === 'ACCEPTED')).toBe(
        true,
      );
      expect(new Set(own.updates.map((u) => u.eventId)).size).toBe(own.updates.length);
      // Bob's key of the same name is another key: nothing of Alice's send reaches him.
      expect(other.updates).toEqual([]);
      expect(other.errors).toEqual([]);
    } finally {
      own.stop();
      other.stop();
    }
  });

  test('a subscriber that reconnects with the last event id it got receives what it missed, once; a stale id is told to resync', async () => {
    const [, , carol] = stack.sandbox.seed.users;
    const key = `resume-${Date.now()}`;
    const first = await subscriber(carol!.id, { key, after: '0-0' });
    await send(carol!.id, key, carol!.email);
    await until(() => first.updates.length >= 1, { what: 'a first update' });
    const missedFrom = first.updates[0]!.eventId;
    await until(() => first.updates.some((u) => u.send.status === 'DELIVERED'), {
      what: 'every update of the send (accepted, processed, delivered)',
    });
    first.stop();
    const seen = first.updates.map((u) => u.eventId);

    // Reconnecting after the first: the second comes again, and only it.
    const resumed = await subscriber(carol!.id, { key, after: missedFrom });
    try {
      await until(() => resumed.updates.length >= seen.length - 1, { what: 'the missed updates' });
      expect(resumed.updates.map((u) => u.eventId)).toEqual(seen.slice(1));
    } finally {
      resumed.stop();
    }

    // An id this stream never reached (another deployment's, a flushed store): refetch, then follow.
    const stale = await subscriber(carol!.id, { key, after: '99999999999999-0' });
    try {
      await until(() => stale.errors.length > 0 || stale.completed(), { what: 'the refusal' });
      expect(stale.errors.map((e) => e.extensions?.code)).toEqual(['RESYNC_REQUIRED']);
    } finally {
      stale.stop();
    }
  });
});

describe('emailMessageUpdated over SSE through the gateway', () => {
  const MESSAGE_UPDATED = `subscription MessageUpdated($messageId: ID, $after: String) {
    emailMessageUpdated(messageId: $messageId, after: $after) { eventId messageId status provider }
  }`;
  const tokenOf = async (userId: string, scopes: string[], email?: string) => ({
    authorization: `Bearer ${await mintToken(AuthConfig.parse({}), userId, scopes, 3600, { email })}`,
  });

  test("a user follows the messages sent to their token's address; another user sees none of them; admin follows one by id", async () => {
    const [alice, bob] = stack.sandbox.seed.users;
    const url = `${stack.gateways.web!.url}/graphql`;
    const from = '0-0';
    const own = await openEventStream(url, await tokenOf(alice!.id, [], alice!.email), {
      query: MESSAGE_UPDATED,
      variables: { after: from },
    });
    const other = await openEventStream(url, await tokenOf(bob!.id, [], bob!.email), {
      query: MESSAGE_UPDATED,
      variables: { after: from },
    });
    try {
      const sent = await send(alice!.id, `to-self-${Date.now()}`, alice!.email.toUpperCase());
      const messageId = sent.body.data!.sendEmail.messageId;
      const mine = () =>
        own.events.map((e) => (e.data as { emailMessageUpdated: { messageId: string; status: string } }).emailMessageUpdated);
      await until(() => mine().some((u) => u.messageId === messageId && u.status === 'DELIVERED'), { what: "Alice's message delivered" });
      expect(own.events.flatMap((e) => e.errors ?? [])).toEqual([]);
      expect(
        mine()
          .filter((u) => u.messageId === messageId)
          .map((u) => u.status),
      ).toEqual(['PROCESSED', 'DELIVERED']);
      const admin = await openEventStream(url, await tokenOf('usr_support', ['admin']), {
        query: MESSAGE_UPDATED,
        variables: { messageId, after: from },
      });
      try {
        await until(() => admin.events.length >= 2, { what: 'the admin to see the message' });
        expect(admin.events.map((e) => (e.data as { emailMessageUpdated: { messageId: string } }).emailMessageUpdated.messageId)).toEqual([
          messageId,
          messageId,
        ]);
      } finally {
        await admin.close();
      }
      expect(
        other.events.flatMap((e) => (e.data as { emailMessageUpdated: { messageId: string } }).emailMessageUpdated.messageId),
      ).not.toContain(messageId);
    } finally {
      await own.close();
      await other.close();
    }
  });

  test('a token without an email is refused FORBIDDEN, saying what it lacks', async () => {
    const stream = await openEventStream(`${stack.gateways.web!.url}/graphql`, await tokenOf('usr_00001', []), { query: MESSAGE_UPDATED });
    try {
      await until(() => stream.events.length > 0, { what: 'the refusal' });
      expect(stream.events[0]!.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
        ['FORBIDDEN', "Following your messages needs a token that carries your verified email (claim 'email')"],
      ]);
    } finally {
      await stream.close();
    }
  });
});

test("an accepted send and tracked events are told on their domains' streams", async () => {
  const count = async (subgraph: 'email' | 'analytics') =>
    Number(
      new RegExp(`^patchbay_event_stream_events_total\\{[^}]*stream="${subgraph}"[^}]*outcome="appended"[^}]*\\} (\\d+)$`, 'm').exec(
        await (await fetch(`${stack.subgraphs[subgraph]!.metricsUrl}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  const [alice] = stack.sandbox.seed.users;
  const tracked = await count('analytics');
  const { body } = await graphql(
    `${stack.gateways.web!.url}/graphql`,
    'mutation { track(events: [{ userId: "usr_00001", name: "Told" }, { userId: "usr_00001", name: "Told too" }]) { accepted } }',
    {},
    await as('usr_00001'),
  );
  expect(body).toEqual({ data: { track: { accepted: 2 } } });
  // One stream event for the batch the outbox took.
  await until(async () => (await count('analytics')) === tracked + 1, { what: 'the tracked events told' });
  const told = await count('email');
  await send(alice!.id, `told-${Date.now()}`, alice!.email);
  // The accepted send, then its processed and delivered webhooks.
  await until(async () => (await count('email')) >= told + 3, { what: 'the send and its deliveries told' });
});

test('a subscription asked for as JSON is refused 406, naming the event stream to ask for', async () => {
  const response = await fetch(`${stack.gateways.web!.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(await as('usr_00001', 'email:send')) },
    body: JSON.stringify({ query: 'subscription { emailSendUpdated(idempotencyKey: "k") { eventId } }' }),
  });
  expect({ status: response.status, body: await response.json() }).toEqual({
    status: 406,
    body: {
      errors: [
        {
          message: 'Not acceptable: accept application/graphql-response+json or application/json (text/event-stream for a subscription)',
          extensions: { code: 'NOT_ACCEPTABLE' },
        },
      ],
    },
  });
});

describe('what subscriptions may hold of a gateway replica', () => {
  const subscription = { query: 'subscription { emailSendUpdated(idempotencyKey: "policy") { eventId } }' };
  const gatewayWith = (settings: Record<string, string>) =>
    startGateway(web, { ...stack.subgraphUrls, LOG_LEVEL: 'silent', WEB_GATEWAY_PORT: '0', WEB_METRICS_PORT: '0', ...settings });
  const open = async (metricsUrl: string) =>
    Number(
      /^patchbay_gateway_subscriptions_open\{client="web"[^}]*\} (\d+)$/m.exec(await (await fetch(`${metricsUrl}/metrics`)).text())?.[1],
    );

  test('a user holds at most MAX_SUBSCRIPTIONS_PER_USER open; one more is refused 429 until one closes; others are not counted against them', async () => {
    const gateway = await gatewayWith({ WEB_MAX_SUBSCRIPTIONS_PER_USER: '2' });
    const url = `${gateway.url}/graphql`;
    const alice = await as('usr_00001', 'email:send');
    const streams = [await openEventStream(url, alice, subscription), await openEventStream(url, alice, subscription)];
    try {
      expect(streams.map((s) => s.status)).toEqual([200, 200]);
      await until(async () => (await open(gateway.metricsUrl!)) === 2, { what: 'two open subscriptions' });
      const third = await openEventStream(url, alice, subscription);
      expect(third.status).toBe(429);
      await until(() => third.events.length > 0, { what: 'the refusal' });
      expect(third.events[0]!.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      const bob = await openEventStream(url, await as('usr_00002', 'email:send'), subscription);
      expect(bob.status).toBe(200);
      await bob.close();
      await streams.pop()!.close();
      await until(async () => (await open(gateway.metricsUrl!)) === 1, { what: 'the closed ones to be let go' });
      const again = await openEventStream(url, alice, subscription);
      expect(again.status).toBe(200);
      streams.push(again);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
      await gateway.close();
    }
  });

  test('a stream ends with TOKEN_EXPIRED when its token expires, and with RECONNECT at its longest life (not at a subgraph call timeout)', async () => {
    const gateway = await gatewayWith({ WEB_SUBSCRIPTION_LIFETIME_MS: '2500', WEB_SUBGRAPH_TIMEOUT_MS: '1000' });
    const url = `${gateway.url}/graphql`;
    const shortToken = { authorization: `Bearer ${await mintToken(AuthConfig.parse({}), 'usr_00001', ['email:send'], 1)}` };
    const expiring = await openEventStream(url, shortToken, subscription);
    const long = await openEventStream(url, await as('usr_00002', 'email:send'), subscription);
    try {
      await until(() => long.completed(), { what: 'the lifetime to end the stream' });
      expect(long.events.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(['RECONNECT']);
    } finally {
      await long.close();
      await gateway.close();
      await expiring.close();
    }
    // The lifetime was shorter than the token's 1 s + the clock skew allowed: a gateway with the default lifetime.
    const second = await gatewayWith({});
    const stream = await openEventStream(`${second.url}/graphql`, shortToken, subscription);
    try {
      await until(() => stream.completed(), { timeoutMs: 15_000, what: 'the token to expire' });
      expect(stream.events.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(['TOKEN_EXPIRED']);
    } finally {
      await stream.close();
      await second.close();
    }
  });

  test('a stopping gateway tells its streams to reconnect (RECONNECT), then closes: not cut', async () => {
    const gateway = await gatewayWith({});
    const stream = await openEventStream(`${gateway.url}/graphql`, await as('usr_00001', 'email:send'), subscription);
    await until(async () => (await open(gateway.metricsUrl!)) === 1, { what: 'the subscription to be open' });
    await gateway.close();
    await until(() => stream.completed(), { what: 'the stream to complete' });
    expect(stream.events.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(['RECONNECT']);
    await stream.close();
  });
});

test('a stopping subgraph tells its streams to reconnect, and the gateway passes that on: the client resumes, not cut', async () => {
  const subgraph = await startSubgraph(email, { ...stack.sandbox.env(), EMAIL_PORT: '0', LOG_LEVEL: 'silent' });
  const gateway = await startGateway(web, {
    ...stack.subgraphUrls,
    EMAIL_SUBGRAPH_URL: `${subgraph.url}/graphql`,
    LOG_LEVEL: 'silent',
    WEB_GATEWAY_PORT: '0',
    WEB_METRICS_PORT: '0',
  });
  const stream = await openEventStream(`${gateway.url}/graphql`, await as('usr_00001', 'email:send'), {
    query: 'subscription { emailSendUpdated(idempotencyKey: "subgraph-stops") { eventId } }',
  });
  try {
    await until(async () => (await streamFollowers(subgraph.metricsUrl!, 'email')) === 1, { what: 'the subgraph to follow the stream' });
    await subgraph.close();
    await until(() => stream.completed(), { what: 'the stream to complete' });
    expect(stream.events.map((e) => e.errors?.[0]?.extensions?.code)).toEqual(['RECONNECT']);
  } finally {
    await stream.close();
    await gateway.close();
    await subgraph.close();
  }
});
