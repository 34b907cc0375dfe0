import { z } from 'zod';
import { AccountsConfig } from '../subgraphs/accounts/config.js';
import { AnalyticsConfig } from '../subgraphs/analytics/config.js';
import { EmailConfig } from '../subgraphs/email/config.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { providerEntry } from '../subgraphs/registry.js';

/**
 * What the sandbox's providers accept and sign with: the very variables the subgraphs read
 * (their committed local values by default), so that one environment (`npm run secrets`)
 * serves both, and production, with credentials of its own, can be rehearsed against it.
 * SendGrid signs its webhooks with the private half of SENDGRID_WEBHOOK_PUBLIC_KEY's pair.
 */
export const SandboxCredentials = AccountsConfig.pick({ ACCOUNTS_API_TOKEN: true })
  .extend(
    EmailConfig.pick({
      SENDGRID_API_KEY: true,
      POSTMARK_SERVER_TOKEN: true,
      POSTMARK_WEBHOOK_USER: true,
      POSTMARK_WEBHOOK_PASSWORD: true,
      MAILGUN_API_KEY: true,
      MAILGUN_DOMAIN: true,
      MAILGUN_WEBHOOK_SIGNING_KEY: true,
    }).shape,
  )
  .extend(
    StorageConfig.pick({ S3_BUCKET: true, S3_REGION: true, S3_ACCESS_KEY_ID: true, S3_SECRET_ACCESS_KEY: true, S3_EVENTS_API_KEY: true })
      .shape,
  )
  .extend(AnalyticsConfig.pick({ SEGMENT_WRITE_KEY: true, MIXPANEL_SERVICE_ACCOUNT: true, MIXPANEL_PROJECT_ID: true }).shape)
  .extend({
    /** The private key (base64 PKCS#8, P-256) the sandbox SendGrid signs webhooks with; sandbox only. */
    SANDBOX_SENDGRID_WEBHOOK_PRIVATE_KEY: z.string().min(1).default(providerEntry('sendgrid').credentials.webhookPrivateKey),
  });
export type SandboxCredentials = z.infer<typeof SandboxCredentials>;
