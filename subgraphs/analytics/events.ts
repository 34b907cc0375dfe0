/** An event a client tracks, as it waits in the outbox and goes to Segment. */
export interface TrackedEvent {
  id: string;
  userId: string;
  name: string;
  occurredAt: string;
  properties: Record<string, string>;
}

/** An event of a user as Mixpanel answers it. */
export interface UserEvent {
  userId: string;
  name: string;
  occurredAt: string;
  properties: Array<{ key: string; value: string }>;
}

export type Unit = 'hour' | 'day' | 'month';
