import { z } from 'zod';
import type { EventOf } from '../../kit/state/event-stream.js';

/**
 * The storage domain's events (the `storage` stream, kit/state/event-stream.ts): what the bucket's
 * event notifications tell (notifications.ts), one type per fact. Subscriptions push them.
 */
export const STORAGE_EVENTS = {
  /** An object was stored (an upload completed, or a copy over it). */
  StoredObjectCreated: z.object({
    key: z.string(),
    /** Whose folder it is in (`users/<id>/`). */
    userId: z.string(),
    size: z.number().int().min(0),
    etag: z.string(),
    /** When storage says it happened. */
    at: z.iso.datetime({ offset: true }),
    /** The notification's own id: a notification told twice (a redelivery) has the same. */
    notificationId: z.string(),
  }),
  /**
   * An upload URL was handed out: the object may land any moment. Told so that every replica
   * drops the user's cached listings first, and a client that lists right after its PUT sees
   * its file (the bucket's notification comes after).
   */
  UploadUrlIssued: z.object({
    key: z.string(),
    userId: z.string(),
    expiresAt: z.iso.datetime({ offset: true }),
  }),
  /** An object was deleted. */
  StoredObjectDeleted: z.object({
    key: z.string(),
    userId: z.string(),
    at: z.iso.datetime({ offset: true }),
    notificationId: z.string(),
  }),
};
export type StorageEvents = typeof STORAGE_EVENTS;

/** Whose folder a storage event is about, so that a subscription is handed only its user's (topics). */
export const userTopic = (userId: string) => `user:${userId}`;
export const storageTopicsOf = ({ data }: EventOf<StorageEvents>): string[] => [userTopic(data.userId)];
