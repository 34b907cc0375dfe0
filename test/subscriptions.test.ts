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
import { as, graphql, until } from './helpers.js';

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
    await until(() => first.updates.length >= 2, { what: 'both updates of the send (processed, delivered)' });
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
