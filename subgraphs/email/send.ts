import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import type { OutgoingEmail } from './messages.js';
import type { PostmarkApi } from './postmark.js';
import type { SendgridApi } from './sendgrid.js';

/** Failures after which the primary provider cannot have the message: safe to send elsewhere. */
const NEVER_SENT: ReadonlySet<string> = new Set([UpstreamErrorCode.CIRCUIT_OPEN, UpstreamErrorCode.OVERLOADED]);

/**
 * Sends through SendGrid, and through Postmark when SendGrid refused the message before
 * sending it (open circuit, full bulkhead). Any other failure is reported, not re-sent
 * elsewhere: SendGrid may have accepted the message, and a second provider would mail twice.
 */
export async function sendWithFallback(
  primary: SendgridApi,
  fallback: PostmarkApi,
  mail: OutgoingEmail,
): Promise<{ messageId: string; provider: 'sendgrid' | 'postmark' }> {
  try {
    return { ...(await primary.send(mail)), provider: 'sendgrid' };
  } catch (error) {
    if (!(error instanceof UpstreamError) || !NEVER_SENT.has(error.code)) throw error;
    return { ...(await fallback.send(mail)), provider: 'postmark' };
  }
}
