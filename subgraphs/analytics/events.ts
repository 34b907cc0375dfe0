import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EventOf } from '../../kit/state/event-stream.js';

/** An event a client tracks, as it waits in the outbox and goes to Segment. */
export const TrackedEvent = z.object({
  /** The id the client gave (or one made for it): what `track` answers. */
  id: z.string(),
  /**
   * The id the outbox and Segment dedupe by: the client's id scoped to the user, so no user
   * can drop or replace another's event by reusing its id. (Absent in events queued before
   * ids were scoped; their own id served then.)
   */
  messageId: z.string().optional(),
  userId: z.string(),
  name: z.string(),
  occurredAt: z.string(),
  properties: z.record(z.string(), z.string()),
});
export type TrackedEvent = z.infer<typeof TrackedEvent>;

/**
 * The analytics domain's events (the `analytics` stream, kit/state/event-stream.ts): what `track`
 * took, once it is safe in the outbox. The same event tracked again carries the same messageId.
 */
export const ANALYTICS_EVENTS = {
  EventsTracked: z.object({
    events: z
      .array(TrackedEvent.pick({ id: true, messageId: true, userId: true, name: true, occurredAt: true }))
      .min(1)
      .max(2500),
  }),
};
export type AnalyticsEvents = typeof ANALYTICS_EVENTS;
/** The topic of one user's tracked events. */
export const analyticsUserTopic = (userId: string) => `user:${userId}`;
/** Whose tracked events a stream event holds: a reader of one user is handed only theirs (topics). */
export const analyticsTopicsOf = ({ data }: EventOf<AnalyticsEvents>): string[] => [
  ...new Set(data.events.map((event) => analyticsUserTopic(event.userId))),
];

/** An event of a user as Mixpanel answers it. */
export interface UserEvent {
  userId: string;
  name: string;
  occurredAt: string;
  properties: Array<{ key: string; value: string }>;
}

export type Unit = 'hour' | 'day' | 'month';

/** The id an event is kept and sent under: its user's and its own, together (eventMessageId('usr_1', 'e1')). */
export const eventMessageId = (userId: string, id: string) =>
  `evt_${createHash('sha256').update(userId).update('\n').update(id).digest('base64url')}`;
