/**
 * NODE_ENV=production is the one switch between a laptop and a deployment: no program
 * starts on a local-development default there. Each program runs as a real child process
 * and must stop before it listens, with exit 2 and one line per variable.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { LOCAL } from '../../kit/process/local-defaults.js';
import { bareEnv, runToEnd, tsxProgram } from '../../scripts/programs.js';
import { providerEntry } from '../../subgraphs/registry.js';

const PRODUCTION = { NODE_ENV: 'production', LOG_LEVEL: 'silent' };
/** A SendGrid webhook key of this deployment's own: a P-256 public key, not the committed one. */
const PRODUCTION_SENDGRID_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ format: 'der', type: 'spki' })
  .toString('base64');
const MUST_BE_SET = 'must be set when NODE_ENV=production';
const COMMITTED = 'is a committed local development value';

/** The variables a refusal names, in the order it names them. */
const named = (stderr: string, reason: string) =>
  stderr
    .split('\n')
    .filter((line) => line.includes(reason))
    .map((line) => /- ([A-Z0-9_]+):/.exec(line)?.[1]);

const GATEWAY_SECRETS = ['JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE', 'INTERNAL_TOKEN_SECRET'];
const PROGRAMS: Array<[string, string[], string[]]> = [
  ['gateway web', tsxProgram('gateway/index.ts', 'web'), [...GATEWAY_SECRETS, 'WEB_CORS_ORIGINS']],
  ['gateway mobile', tsxProgram('gateway/index.ts', 'mobile'), GATEWAY_SECRETS],
  [
    'subgraph accounts',
    tsxProgram('scripts/run-subgraph.ts', 'accounts'),
    ['INTERNAL_TOKEN_SECRET', 'ACCOUNTS_API_URL', 'ACCOUNTS_API_TOKEN'],
  ],
  [
    'subgraph email',
    tsxProgram('scripts/run-subgraph.ts', 'email'),
    [
      'INTERNAL_TOKEN_SECRET',
      'EMAIL_FROM_ADDRESS',
      'SENDGRID_API_KEY',
      'SENDGRID_WEBHOOK_PUBLIC_KEY',
      'MAILGUN_API_KEY',
      'MAILGUN_DOMAIN',
      'MAILGUN_WEBHOOK_SIGNING_KEY',
      'POSTMARK_SERVER_TOKEN',
      'POSTMARK_WEBHOOK_USER',
      'POSTMARK_WEBHOOK_PASSWORD',
    ],
  ],
  [
    'subgraph storage',
    tsxProgram('scripts/run-subgraph.ts', 'storage'),
    ['INTERNAL_TOKEN_SECRET', 'S3_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_EVENTS_API_KEY'],
  ],
  [
    'subgraph analytics',
    tsxProgram('scripts/run-subgraph.ts', 'analytics'),
    ['INTERNAL_TOKEN_SECRET', 'SEGMENT_WRITE_KEY', 'MIXPANEL_SERVICE_ACCOUNT', 'MIXPANEL_PROJECT_ID'],
  ],
];

describe('with NODE_ENV=production and nothing else set', () => {
  test.each(PROGRAMS)('%s stops before it listens, naming every setting it lacks', async (_name, command, expected) => {
    const { status, stdout, stderr } = await runToEnd(command, bareEnv(PRODUCTION));
    expect(status).toBe(2);
    expect(named(stderr, MUST_BE_SET)).toEqual(expected);
    expect(stdout).not.toContain('listening');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test('the sandbox refuses to run at all, and so does npm start', async () => {
    for (const command of [tsxProgram('sandbox/index.ts'), tsxProgram('scripts/start.ts')]) {
      const { status, stderr } = await runToEnd(command, bareEnv(PRODUCTION));
      expect(status).toBe(2);
      expect(stderr).toContain('NODE_ENV: the sandbox is for local development and tests; it does not run with NODE_ENV=production');
    }
  });

  test('a provider with a public API defaults to it, not to the sandbox', async () => {
    // Every email setting given but the API URLs: the refusal names nothing else.
    const { status, stderr } = await runToEnd(
      tsxProgram('scripts/run-subgraph.ts', 'email'),
      bareEnv({
        ...PRODUCTION,
        INTERNAL_TOKEN_SECRET: 'x'.repeat(40),
        SENDGRID_API_KEY: 'SG.real',
        POSTMARK_SERVER_TOKEN: 'pm-real',
        EMAIL_FROM_ADDRESS: 'no-reply@example.com',
        SENDGRID_WEBHOOK_PUBLIC_KEY: PRODUCTION_SENDGRID_KEY,
        MAILGUN_API_KEY: 'mg-key-real',
        MAILGUN_DOMAIN: 'mg.example.com',
        MAILGUN_WEBHOOK_SIGNING_KEY: 'mg-real',
        POSTMARK_WEBHOOK_USER: 'hooks',
        POSTMARK_WEBHOOK_PASSWORD: 'pm-hook-real',
        EMAIL_PORT: 'not-a-port',
      }),
    );
    // It would start; the bad port is the only complaint, so the URLs were taken care of.
    expect(status).toBe(2);
    expect(stderr.trim().split('\n').slice(1)).toEqual(['  - EMAIL_PORT: must be a port number']);
  });

  test('a mail provider left out of EMAIL_PROVIDERS asks for none of its settings', async () => {
    // SendGrid's API key stays: message lists are read from its Email Activity whichever provider sends.
    const { status, stderr } = await runToEnd(
      tsxProgram('scripts/run-subgraph.ts', 'email'),
      bareEnv({ ...PRODUCTION, EMAIL_PROVIDERS: 'mailgun' }),
    );
    expect(status).toBe(2);
    expect(named(stderr, MUST_BE_SET)).toEqual([
      'INTERNAL_TOKEN_SECRET',
      'EMAIL_FROM_ADDRESS',
      'SENDGRID_API_KEY',
      'MAILGUN_API_KEY',
      'MAILGUN_DOMAIN',
      'MAILGUN_WEBHOOK_SIGNING_KEY',
    ]);
  });
});

describe('with NODE_ENV=production and committed development values', () => {
  test('a gateway refuses the committed JWT and internal secrets, naming each', async () => {
    const { status, stderr } = await runToEnd(
      tsxProgram('gateway/index.ts', 'mobile'),
      bareEnv({
        ...PRODUCTION,
        JWT_SECRET: LOCAL.auth.jwtSecret,
        // Another committed secret in the wrong variable is still a committed secret.
        INTERNAL_TOKEN_SECRET: LOCAL.auth.jwtSecret,
        JWT_ISSUER: 'https://id.example.com/',
        JWT_AUDIENCE: 'patchbay',
      }),
    );
    expect(status).toBe(2);
    expect(named(stderr, COMMITTED)).toEqual(['JWT_SECRET', 'INTERNAL_TOKEN_SECRET']);
    expect(named(stderr, MUST_BE_SET)).toEqual([]);
  });

  test('a subgraph refuses the caller-header secret and the sandbox credentials', async () => {
    const { status, stderr } = await runToEnd(
      tsxProgram('scripts/run-subgraph.ts', 'accounts'),
      bareEnv({
        ...PRODUCTION,
        INTERNAL_TOKEN_SECRET: LOCAL.auth.internalTokenSecret,
        ACCOUNTS_API_URL: 'https://accounts.internal',
        ACCOUNTS_API_TOKEN: providerEntry('accounts').credentials.token,
      }),
    );
    expect(status).toBe(2);
    expect(named(stderr, COMMITTED)).toEqual(['INTERNAL_TOKEN_SECRET', 'ACCOUNTS_API_TOKEN']);
  });

  test('a gateway with an identity provider (JWT_JWKS_URL) needs no JWT_SECRET', async () => {
    const { status, stderr } = await runToEnd(
      tsxProgram('gateway/index.ts', 'mobile'),
      bareEnv({ ...PRODUCTION, JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json', MOBILE_GATEWAY_PORT: '-1' }),
    );
    expect(status).toBe(2);
    expect(named(stderr, MUST_BE_SET)).toEqual(['JWT_ISSUER', 'JWT_AUDIENCE', 'INTERNAL_TOKEN_SECRET']);
  });
});
