import { z } from 'zod';
import type { EventOf } from '../../kit/state/event-stream.js';

/**
 * The email domain's events (the `email` stream, kit/state/event-stream.ts): one type per fact,
 * appended once the fact is stored. Subscriptions push them; whatever else reacts to a message's
 * delivery reads them too.
 */
export const EMAIL_EVENTS = {
  /** A send was taken by a provider (sendEmail's answer): the message exists from now on. */
  EmailSendAccepted: z.object({
    sendId: z.string(),
    messageId: z.string(),
    provider: z.string(),
    /** The address it goes to, lower-cased: whose message list it joins (absent in events told before it was). */
    recipient: z.string().optional(),
  }),
  /** A provider's delivery webhook moved a message on (after its status was stored). */
  EmailMessageStatusChanged: z.object({
    messageId: z.string(),
    status: z.enum(['PROCESSED', 'DELIVERED', 'NOT_DELIVERED', 'BOUNCED', 'OPENED']),
    provider: z.string(),
    /** The address it went to, lower-cased: whose message it is. */
    recipient: z.string().optional(),
    /** Our send's id, when the provider carried it back. */
    sendId: z.string().optional(),
    /** The provider event's own id: the same delivery told twice (a retried webhook) has the same. */
    deliveryId: z.string(),
  }),
};
export type EmailEvents = typeof EMAIL_EVENTS;

/** What an email event is about, so that a subscription is handed only its own (kit/state/event-stream.ts topics). */
export const EMAIL_TOPICS = {
  send: (sendId: string) => `send:${sendId}`,
  recipient: (address: string) => `recipient:${address}`,
  message: (messageId: string) => `message:${messageId}`,
};
export const emailTopicsOf = (event: EventOf<EmailEvents>): string[] => {
  const { data } = event;
  const { recipient } = event.data;
  return [
    EMAIL_TOPICS.message(data.messageId),
    ...(data.sendId ? [EMAIL_TOPICS.send(data.sendId)] : []),
    ...(recipient ? [EMAIL_TOPICS.recipient(recipient)] : []),
  ];
};
