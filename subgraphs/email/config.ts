import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { env } from '../../kit/config.js';
import { LOCAL } from '../../kit/local-defaults.js';
import { sandboxUrl } from '../registry.js';
import { RedisConfig } from '../../kit/redis.js';
import { ecdsaP256Verifier } from '../../kit/webhooks.js';

const isEcdsaP256PublicKey = (key: string) => {
  try {
    ecdsaP256Verifier(key);
    return true;
  } catch {
    return false;
  }
};

/** The email subgraph's settings: both providers, the sender, the webhook credentials. */
export const EmailConfig = RedisConfig.extend({
  SENDGRID_API_URL: env.upstreamUrl(sandboxUrl('sendgrid'), 'https://api.sendgrid.com'),
  SENDGRID_API_KEY: env.secret(LOCAL.sendgrid.apiKey),
  POSTMARK_API_URL: env.upstreamUrl(sandboxUrl('postmark'), 'https://api.postmarkapp.com'),
  POSTMARK_SERVER_TOKEN: env.secret(LOCAL.postmark.serverToken),
  EMAIL_FROM_ADDRESS: env.local(z.email({ error: 'must be an email address' }).default('notifications@patchbay.example')),
  EMAIL_FROM_NAME: z.string().default('patchbay'),
  /** SendGrid Event Webhook verification key (base64 SPKI, from SendGrid's webhook settings). */
  SENDGRID_WEBHOOK_PUBLIC_KEY: env.secret(LOCAL.webhooks.sendgridPublicKey, {
    check: [isEcdsaP256PublicKey, 'must be the base64 public key (SPKI) SendGrid shows for the signed Event Webhook'],
    // A key pair: the sandbox signs with the private half when production is rehearsed against it.
    generate: () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return {
        SENDGRID_WEBHOOK_PUBLIC_KEY: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
        SANDBOX_SENDGRID_WEBHOOK_PRIVATE_KEY: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      };
    },
  }),
  /** Mailgun's HTTP webhook signing key. */
  MAILGUN_WEBHOOK_SIGNING_KEY: env.secret(LOCAL.webhooks.mailgunSigningKey),
  /** The basic-auth credentials put in the Postmark webhook URL. */
  POSTMARK_WEBHOOK_USER: env.secret(LOCAL.webhooks.postmarkUser),
  POSTMARK_WEBHOOK_PASSWORD: env.secret(LOCAL.webhooks.postmarkPassword),
  /** How old a signed webhook may be; older ones are refused as possible replays. */
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
});
export type EmailConfig = z.infer<typeof EmailConfig>;
