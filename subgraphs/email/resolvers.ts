import { createHash, randomUUID } from 'node:crypto';
import { messageOf } from '../../kit/process/caught.js';
import { pageSize } from '../../kit/subgraph/page-size.js';
import { SCOPES, forbidden, hasScope, requireScope, requireSelf } from '../../kit/caller/scopes.js';
import { badUserInput } from '../../kit/errors.js';
import { runOnce, type RunOnceOptions } from '../../kit/state/idempotency.js';
import { DateTimeScalar } from '../../kit/subgraph/scalars.js';
import type { Resolvers } from './__generated__/resolvers-types.js';
import type { Dependencies } from './dependencies.js';
import { provablyNotSent } from '../../kit/source/outcome.js';
import { sendThrough } from './providers.js';
import { followUpdates, updateOf } from '../../kit/subgraph/subscriptions.js';
import { EMAIL_TOPICS } from './events.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const SEND_ONCE: RunOnceOptions = {
  retentionMs: 24 * 3_600_000,
  // Longer than a send can take (the deadlines of every provider); a crashed send frees its key then.
  pendingMs: 60_000,
  // Shorter than the gateways' subgraph timeouts (mobile 6 s): a request behind one in flight
  // gets its typed, retryable IDEMPOTENCY_KEY_IN_USE, not the gateway's SUBGRAPH_TIMEOUT.
  waitMs: 4_000,
  // Unless it provably was not sent (source/outcome.ts), a failed send may have reached the provider.
  mayHaveActed: (error) => !provablyNotSent(error),
  outcomeUnknownHint: 'Query emailSend(idempotencyKey) to learn what became of it.',
};

/** Where a caller's key lives: keys are the caller's own, another user's key is another key. */
const sendKey = (userId: string, key: string) => `send:${userId}:${key}`;
/**
 * The send id of a keyed send, derived from the key: the same on every try, so whichever try
 * reached the provider, its webhooks name this id (and emailSend finds the message by it).
 */
const keyedSendId = (userId: string, key: string) => createHash('sha256').update(`${userId}\n${key}`).digest('base64url').slice(0, 22);

interface SentEmail {
  messageId: string;
  sendId: string;
  provider: string;
}

/** What became of a caller's keyed send, as far as it is known; null when the key made no send. */
async function sendOutcome(userId: string, key: string, dependencies: Dependencies) {
  const record = await dependencies.keys.get<SentEmail>(sendKey(userId, key));
  if (!record) return null;
  const sendId = keyedSendId(userId, key);
  const sent =
    record.state === 'done' ? record.result : record.state === 'unknown' ? await dependencies.statuses.sendOf(sendId) : undefined;
  if (!sent) return { idempotencyKey: key, sendId, state: record.state === 'pending' ? 'PENDING' : 'OUTCOME_UNKNOWN' } as const;
  const [status] = await dependencies.statuses.of([{ id: sent.messageId, status: 'PROCESSED' }]);
  return { idempotencyKey: key, sendId, state: 'ACCEPTED', messageId: sent.messageId, provider: sent.provider, status } as const;
}

const checkedKey = (key: string, argument: string) => {
  if (!IDEMPOTENCY_KEY.test(key)) throw badUserInput(`${argument} must be 1 to 255 printable characters`, argument);
  return key;
};

/**
 * The delivery events of one keyed send, from the email event stream: only the caller's own
 * (the send id is derived from the caller and the key), each as the send stands after it. A
 * resume too old, or a reader too slow, ends the stream with its typed error.
 */
function sendUpdates(userId: string, key: string, after: string | null | undefined, dependencies: Dependencies, signal: AbortSignal) {
  const sendId = keyedSendId(userId, key);
  return followUpdates(
    dependencies.events,
    after,
    signal,
    async (event) => {
      if (event.data.sendId !== sendId) return undefined;
      const { messageId, provider } = event.data;
      // The event proves the send accepted, also while its key's record is still being written.
      const known = await sendOutcome(userId, key, dependencies);
      const send =
        known?.state === 'ACCEPTED'
          ? known
          : {
              idempotencyKey: key,
              sendId,
              state: 'ACCEPTED' as const,
              messageId,
              provider,
              status: event.type === 'EmailMessageStatusChanged' ? event.data.status : null,
            };
      return { eventId: event.id, send };
    },
    EMAIL_TOPICS.send(sendId),
  );
}

/** Sending mail to any address is not every user's right. */

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** The @requires'd email arrives with the reference; without it the gateway sent a bad plan. */
function requiredEmail(parent: { email?: string | null }): string {
  if (!parent.email) throw new Error('User.email was not provided by the query plan');
  return parent.email.toLowerCase();
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  User: {
    emailMessages: async (parent, { first }, { caller, loaders, dependencies }) => {
      requireSelf(caller, parent.id);
      const messages = await loaders.messages.load({ address: requiredEmail(parent), first: pageSize(first, 'first', 100, 10) });
      const statuses = await dependencies.statuses.of(messages);
      return messages.map((m, i) => ({ ...m, status: statuses[i]! }));
    },
    emailDeliverability: async (parent, _args, { caller, loaders }) => {
      requireSelf(caller, parent.id);
      return (await loaders.bounced.load(requiredEmail(parent))) ? 'BOUNCED' : 'DELIVERABLE';
    },
  },
  Query: {
    emailSend: async (_parent, { idempotencyKey }, { caller, dependencies }) => {
      requireScope(caller, SCOPES.sendEmail);
      return sendOutcome(caller.userId, checkedKey(idempotencyKey, 'idempotencyKey'), dependencies);
    },
  },
  Subscription: {
    emailMessageUpdated: {
      subscribe: (_parent, { messageId, after }, { caller, dependencies, signal }) => {
        const anyone = hasScope(caller, SCOPES.admin);
        if (!anyone && !caller.email)
          throw forbidden("Following your messages needs a token that carries your verified email (claim 'email')");
        // Each reader is handed its topic's events alone; the checks below stand even so.
        const topic = messageId ? EMAIL_TOPICS.message(messageId) : anyone ? undefined : EMAIL_TOPICS.recipient(caller.email!);
        return followUpdates(
          dependencies.events,
          after,
          signal,
          (event) => {
            if (event.type !== 'EmailMessageStatusChanged') return undefined;
            const { data } = event;
            if (messageId && data.messageId !== messageId) return undefined;
            if (!anyone && data.recipient !== caller.email) return undefined;
            return { eventId: event.id, messageId: data.messageId, status: data.status, provider: data.provider };
          },
          topic,
        );
      },
      resolve: updateOf,
    },
    emailSendUpdated: {
      subscribe: (_parent, { idempotencyKey, after }, { caller, dependencies, signal }) => {
        requireScope(caller, SCOPES.sendEmail);
        return sendUpdates(caller.userId, checkedKey(idempotencyKey, 'idempotencyKey'), after, dependencies, signal);
      },
      resolve: updateOf,
    },
  },
  Mutation: {
    sendEmail: async (_parent, { input }, { caller, dependencies, logger, idempotencyKey: headerKey }) => {
      requireScope(caller, SCOPES.sendEmail);
      const to = input.to.trim();
      if (!EMAIL.test(to) || to.length > 254) throw badUserInput('input.to must be a single email address', 'input.to');
      const subject = input.subject.trim();
      if (subject.length < 1 || subject.length > 998) throw badUserInput('input.subject must be 1 to 998 characters', 'input.subject');
      if (!input.text && !input.html) throw badUserInput('input.text or input.html is required', 'input.text');
      const categories = input.categories ?? [];
      if (categories.length > 10 || categories.some((c) => c.length < 1 || c.length > 255)) {
        throw badUserInput('input.categories takes up to 10 names of 1 to 255 characters', 'input.categories');
      }
      const content = { to, subject, text: input.text ?? undefined, html: input.html ?? undefined, categories };
      const send = async (sendId: string): Promise<SentEmail> => {
        const { messageId, provider } = await sendThrough(dependencies.providers, { ...content, sendId });
        logger.info({ sendId, messageId, provider }, 'email accepted');
        // Told, not depended on: a send the provider took never fails for the stream (its webhooks tell the rest).
        await dependencies.events
          .append('EmailSendAccepted', { sendId, messageId, provider, recipient: to.toLowerCase() })
          .catch((error: unknown) => logger.warn({ sendId, err: messageOf(error) }, 'an accepted send was not told on the event stream'));
        return { messageId, sendId, provider };
      };
      const key = input.idempotencyKey ?? headerKey;
      if (key === undefined) return send(randomUUID());
      if (!IDEMPOTENCY_KEY.test(key))
        throw badUserInput('input.idempotencyKey must be 1 to 255 printable characters', 'input.idempotencyKey');
      const fingerprint = createHash('sha256').update(JSON.stringify(content)).digest('hex');
      return runOnce(dependencies.keys, sendKey(caller.userId, key), fingerprint, () => send(keyedSendId(caller.userId, key)), {
        ...SEND_ONCE,
        logger,
      });
    },
  },
};
