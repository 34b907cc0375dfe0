/**
 * Where everything is when nothing is configured: the sandbox providers on localhost with
 * their sandbox credentials. Production sets the corresponding environment variables.
 */
export const LOCAL = {
  /** The gateways' ports; subgraphs and sandbox providers have theirs in subgraphs/registry.ts. */
  ports: { web: 4000, mobile: 4001 },
  accounts: { token: 'sandbox-accounts-token' },
  sendgrid: { apiKey: 'SG.sandbox-key' },
  postmark: { serverToken: 'sandbox-postmark-token' },
  mailgun: { apiKey: 'sandbox-mailgun-api-key', domain: 'mg.patchbay.example' },
  s3: {
    bucket: 'patchbay-files',
    region: 'us-east-1',
    accessKeyId: 'AKIASANDBOXEXAMPLE01',
    secretAccessKey: 'sandbox/secret/access/key/EXAMPLEKEY00',
  },
  segment: { writeKey: 'sandbox-write-key' },
  mixpanel: { serviceAccount: 'patchbay.sandbox:sandbox-secret', projectId: '1000001' },
  /** Webhook credentials of the sandbox email providers (local development only). */
  webhooks: {
    sendgridPublicKey:
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENdZfxBf5aa8PT6b4sEGHvouF1BLUnHrFXL4UYJXZ/3bsw1rkERxXDPxQdGbM1cIogLJBinMq14wcfMZoDuUPdA==',
    sendgridPrivateKey:
      'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5MVqxHmZU2wiHHKKuO0qVuZDzWQHGwxUEqQ7U0sx8eehRANCAAQ11l/EF/lprw9PpviwQYe+i4XUEtScesVcvhRgldn/duzDWuQRHFcM/FB0ZszVwiiAskGKcyrXjBx8xmgO5Q90',
    mailgunSigningKey: 'sandbox-mailgun-webhook-signing-key',
    postmarkUser: 'patchbay-webhooks',
    postmarkPassword: 'sandbox-postmark-webhook-password',
  },
  /** Local development only: tokens signed with these are refused by any real deployment. */
  auth: {
    jwtSecret: 'local-development-jwt-secret-change-me-0001',
    issuer: 'patchbay-local',
    audience: 'patchbay',
    internalTokenSecret: 'local-development-internal-token-secret-0001',
  },
} as const;

export const localUrl = (port: number) => `http://127.0.0.1:${port}`;

/**
 * Every credential committed above. A deployment that sets one of these has copied a local
 * development value: with NODE_ENV=production it is refused, whatever variable holds it.
 */
export const COMMITTED_SECRETS: ReadonlySet<string> = new Set([
  LOCAL.accounts.token,
  LOCAL.sendgrid.apiKey,
  LOCAL.postmark.serverToken,
  LOCAL.mailgun.apiKey,
  LOCAL.s3.accessKeyId,
  LOCAL.s3.secretAccessKey,
  LOCAL.segment.writeKey,
  LOCAL.mixpanel.serviceAccount,
  ...Object.values(LOCAL.webhooks),
  LOCAL.auth.jwtSecret,
  LOCAL.auth.internalTokenSecret,
]);
