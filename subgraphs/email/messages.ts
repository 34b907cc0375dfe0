import type { MessageStatus } from './statuses.js';

/** A message as the email subgraph reports it, whichever provider sent it. */
export interface EmailMessageRecord {
  id: string;
  from: string;
  to: string;
  subject: string;
  status: MessageStatus;
  opens: number;
  clicks: number;
  lastEventAt: string;
}

/** A message to send, as both providers take it. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text?: string;
  html?: string;
  categories?: string[];
  /** Our id of this send; travels in custom_args so a duplicate can be traced. */
  sendId: string;
}
