import type { WebhookReceiver as GenericWebhookReceiver } from '../../kit/subgraph/webhooks.js';
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { OutgoingEmail } from './messages.js';
import type { MessageStatus } from './statuses.js';

/**
 * A mail provider of the email subgraph, as a plug-in: its settings, how it sends, and how its
 * delivery webhooks are received. The subgraph sends through the providers EMAIL_PROVIDERS
 * lists, in order (providers.ts), and serves the webhooks of those. A new provider is a file
 * exporting one of these, and an entry in providers.ts (CONTRIBUTING "A mail provider").
 */
export interface MailProvider<Config extends z.ZodObject = z.ZodObject> {
  /** As EMAIL_PROVIDERS names it, and as statuses and `emailSend` report it. */
  name: string;
  /** Its environment variables: API URL, credentials, webhook keys (required in production when it is listed: usedIn). */
  config: Config;
  sender(config: z.infer<Config> & SenderSettings, resources: SubgraphResources): MailSender;
  /** Its delivery webhooks; signed timestamps older than `toleranceSeconds` are refused. */
  webhook(config: z.infer<Config>, toleranceSeconds: number): WebhookReceiver;
}

/** What every provider's sender needs besides its own settings. */
export interface SenderSettings {
  EMAIL_FROM_ADDRESS: string;
  EMAIL_FROM_NAME: string;
}

export interface MailSender {
  send(mail: OutgoingEmail): Promise<{ messageId: string }>;
}

/** One delivery event as every provider's webhook comes down to it. */
export interface DeliveryEvent {
  /** What identifies the event at its provider: its own id, or what it is about and when. */
  id: string;
  messageId?: string;
  status?: MessageStatus;
  /** Our id of the send, when the message carries it back (custom args, metadata, variables). */
  sendId?: string;
  /** The address the message went to, lower-cased: whose message it is. */
  recipient?: string;
}

/** How a provider's delivery webhooks are verified and read (kit/subgraph/webhooks.ts). */
export type WebhookReceiver = GenericWebhookReceiver<DeliveryEvent>;

export const defineMailProvider = <Config extends z.ZodObject>(provider: MailProvider<Config>): MailProvider<Config> => provider;

/** Mail providers used when EMAIL_PROVIDERS is not set, in the order tried. */
export const DEFAULT_MAIL_PROVIDERS = 'sendgrid,mailgun,postmark';

/** The providers EMAIL_PROVIDERS names, as the raw setting says them. */
export const listedProviders = (setting: string | undefined): string[] =>
  (setting ?? DEFAULT_MAIL_PROVIDERS)
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);

/** For a setting needed only when its provider sends: `env.secret(..., { requiredIf: usedIn('mailgun') })`. */
export const usedIn =
  (provider: string) =>
  (settings: Readonly<Record<string, string | undefined>>): boolean =>
    listedProviders(settings.EMAIL_PROVIDERS).includes(provider);

/** An id for an event its provider gave none: a digest of what it is about and when. */
export const digestId = (provider: string, parts: ReadonlyArray<string | number | undefined>) =>
  `${provider}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`;

/** Parses JSON that was verified; undefined when it is not JSON. */
export const parseJson = (body: Buffer): unknown => {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
};
