import { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../../kit/state/redis.js';
import { z } from 'zod';

export type MessageStatus = 'PROCESSED' | 'DELIVERED' | 'NOT_DELIVERED' | 'BOUNCED' | 'OPENED';
/** How far along a message is: a late "delivered" never undoes an "opened" or a bounce. */
const PROGRESS: Record<MessageStatus, number> = { PROCESSED: 0, DELIVERED: 1, OPENED: 2, NOT_DELIVERED: 3, BOUNCED: 3 };
/** As long as a client may ask what became of a send, and longer than a provider retries a webhook. */
const RETENTION_SECONDS = 30 * 86_400;

/**
 * What delivery webhooks told: the furthest status of each message (by provider message id),
 * laid over what Email Activity reports, and which message each of our sends became (the send
 * id rides on the message as metadata and comes back on its events). In this process, or in
 * Redis with REDIS_URL, so that every replica shows what any replica heard (webhooks land on
 * one replica behind a load balancer).
 */
export interface MessageStatuses {
  record(messageId: string, status: MessageStatus): Promise<void>;
  /** The furthest status known for each message: its own, or a webhook's. */
  of(messages: ReadonlyArray<{ id: string; status: MessageStatus }>): Promise<MessageStatus[]>;
  /** Remembers that our send `sendId` became `provider`'s message `messageId`. */
  linkSend(sendId: string, sent: SentMessage): Promise<void>;
  /** The provider's message of a send, once a webhook named it. */
  sendOf(sendId: string): Promise<SentMessage | undefined>;
}

/** A message a provider took. */
const SentMessage = z.object({ messageId: z.string(), provider: z.string() });
export type SentMessage = z.infer<typeof SentMessage>;

const isMessageStatus = (value: string | undefined): value is MessageStatus => value !== undefined && Object.hasOwn(PROGRESS, value);

/** Moves a stored status (its rank's digit, then its name) on only, atomically: a late "delivered" never undoes an "opened". */
const RECORD_STATUS =
  "local known = redis.call('GET', KEYS[1]); if (not known) or tonumber(string.sub(known, 1, 1)) <= tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1] .. ARGV[2], 'EX', ARGV[3]) end";

const further = (heard: MessageStatus | undefined, reported: MessageStatus) =>
  heard && PROGRESS[heard] > PROGRESS[reported] ? heard : reported;

export function createMessageStatuses(redis?: RedisConnection): MessageStatuses {
  if (!redis) {
    const latest = new LRUCache<string, MessageStatus>({ max: 200_000 });
    const sends = new LRUCache<string, SentMessage>({ max: 200_000 });
    return {
      async record(messageId, status) {
        const known = latest.get(messageId);
        if (!known || PROGRESS[status] >= PROGRESS[known]) latest.set(messageId, status);
      },
      async of(messages) {
        return messages.map((m) => further(latest.get(m.id), m.status));
      },
      async linkSend(sendId, sent) {
        sends.set(sendId, sent);
      },
      async sendOf(sendId) {
        return sends.get(sendId);
      },
    };
  }
  const statusKey = (messageId: string) => `patchbay:email:status:${messageId}`;
  const sendKey = (sendId: string) => `patchbay:email:send:${sendId}`;
  return {
    async record(messageId, status) {
      await redis.run((r) => r.eval(RECORD_STATUS, 1, statusKey(messageId), PROGRESS[status], status, RETENTION_SECONDS));
    },
    async of(messages) {
      if (!messages.length) return [];
      const heard = await redis.run((r) => r.mget(...messages.map((m) => statusKey(m.id))));
      return messages.map((m, i) => {
        const stored = heard[i]?.slice(1);
        return further(isMessageStatus(stored) ? stored : undefined, m.status);
      });
    },
    async linkSend(sendId, sent) {
      await redis.run((r) => r.set(sendKey(sendId), JSON.stringify(sent), 'EX', RETENTION_SECONDS));
    },
    async sendOf(sendId) {
      const stored = await redis.run((r) => r.get(sendKey(sendId)));
      return stored ? SentMessage.parse(JSON.parse(stored)) : undefined;
    },
  };
}
