/**
 * Where everything is when nothing is configured: the sandbox providers on localhost with
 * their sandbox credentials. Production sets the corresponding environment variables.
 */
export const LOCAL = {
  ports: {
    web: 4000,
    mobile: 4001,
    accounts: 4011,
    email: 4012,
    storage: 4013,
    analytics: 4014,
    sandbox: { accounts: 4021, email: 4022, storage: 4023, analytics: 4024, postmark: 4025 },
  },
  accounts: { token: 'sandbox-accounts-token' },
  sendgrid: { apiKey: 'SG.sandbox-key' },
  postmark: { serverToken: 'sandbox-postmark-token' },
  s3: {
    bucket: 'patchbay-files',
    region: 'us-east-1',
    accessKeyId: 'AKIASANDBOXEXAMPLE01',
    secretAccessKey: 'sandbox/secret/access/key/EXAMPLEKEY00',
  },
  segment: { writeKey: 'sandbox-write-key' },
  mixpanel: { serviceAccount: 'patchbay.sandbox:sandbox-secret', projectId: '1000001' },
  /** Local development only: tokens signed with these are refused by any real deployment. */
  auth: {
    jwtSecret: 'local-development-jwt-secret-change-me-0001',
    issuer: 'patchbay-local',
    audience: 'patchbay',
    internalTokenSecret: 'local-development-internal-token-secret-0001',
  },
} as const;

export const localUrl = (port: number) => `http://127.0.0.1:${port}`;
