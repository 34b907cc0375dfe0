import { provablyNotSent } from '../../kit/source/outcome.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { EmailConfig } from './config.js';
import { mailgun } from './mailgun.js';
import type { MailSender, WebhookReceiver } from './mail-provider.js';
import type { OutgoingEmail } from './messages.js';
import { postmark } from './postmark.js';
import { sendgrid } from './sendgrid.js';

/**
 * Every mail provider the email subgraph can send through (each a file of its own, exporting a
 * MailProvider: mail-provider.ts). EMAIL_PROVIDERS picks which, in which order.
 */
export const MAIL_PROVIDERS = [sendgrid, mailgun, postmark] as const;
/** Their settings together, in the email subgraph's configuration (config.ts). */
export const MailProviderSettings = sendgrid.config.extend(mailgun.config.shape).extend(postmark.config.shape);
export const MAIL_PROVIDER_NAMES: readonly string[] = MAIL_PROVIDERS.map((provider) => provider.name);

/** The providers of EMAIL_PROVIDERS, in its order: their senders and their webhook receivers. */
export function createMailProviders(
  config: EmailConfig,
  resources: SubgraphResources,
): Array<{ name: string; sender: MailSender; webhook: WebhookReceiver }> {
  return config.EMAIL_PROVIDERS.map((name) => {
    const provider = MAIL_PROVIDERS.find((candidate) => candidate.name === name)!; // EMAIL_PROVIDERS names only these
    return { name, sender: provider.sender(config, resources), webhook: provider.webhook(config, config.WEBHOOK_TOLERANCE_SECONDS) };
  });
}

/**
 * Sends through the first provider, and through the next one only when the one before provably
 * did not send (source/outcome.ts: an open circuit, a full bulkhead, a refused connection, a
 * throttle or any other 4xx). Any other failure is reported, not sent elsewhere: the provider
 * may have accepted the message, and another would mail it twice (docs/adr/0006).
 */
export async function sendThrough(
  providers: ReadonlyArray<{ name: string; sender: MailSender }>,
  mail: OutgoingEmail,
): Promise<{ messageId: string; provider: string }> {
  let failure: unknown;
  for (const { name, sender } of providers) {
    try {
      return { ...(await sender.send(mail)), provider: name };
    } catch (error) {
      if (!provablyNotSent(error)) throw error;
      failure = error;
    }
  }
  throw failure;
}
