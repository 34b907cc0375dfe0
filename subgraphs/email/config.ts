import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { DEFAULT_MAIL_PROVIDERS, listedProviders } from './mail-provider.js';
import { MAIL_PROVIDER_NAMES, MailProviderSettings } from './providers.js';

/** The email subgraph's settings: the sender, the providers to send through in order, and each provider's own. */
export const EmailConfig = z
  .object({
    EMAIL_FROM_ADDRESS: env.local(z.email({ error: 'must be an email address' }).default('notifications@patchbay.example')),
    EMAIL_FROM_NAME: z.string().default('patchbay'),
    /** The mail providers to send through, in order: the next one only when the one before provably did not send. */
    EMAIL_PROVIDERS: z
      .string()
      .default(DEFAULT_MAIL_PROVIDERS)
      .transform(listedProviders)
      .pipe(
        z
          .array(
            z.string().refine((name) => MAIL_PROVIDER_NAMES.includes(name), {
              error: `must be a comma-separated list of ${MAIL_PROVIDER_NAMES.join(', ')}`,
            }),
          )
          .min(1, 'must name at least one provider')
          .refine((names) => new Set(names).size === names.length, 'must name each provider once'),
      ),
    /** How old a signed webhook may be; older ones are refused as possible replays. */
    WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  })
  .extend(MailProviderSettings.shape);
export type EmailConfig = z.infer<typeof EmailConfig>;
