/**
 * `npm run rehearse -- [--env-file .env]`: production, rehearsed on one machine. The compiled
 * programs, each its own process in production mode (NODE_ENV=production: no development
 * default, no committed secret), with the secrets of the env file (`npm run secrets > .env`;
 * fresh ones for this run when there is none), against the sandbox providers, which take the
 * same credentials. Same ports as `npm start`; Ctrl-C stops everything.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { CLIENTS, clientByName } from '../gateway/clients/index.js';
import { parseCommandLine, runCommand, usageError } from '../kit/process/cli.js';
import { localUrl } from '../kit/process/local-defaults.js';
import { SANDBOX_PROVIDERS } from '../sandbox/providers.js';
import { providerEntry, PROVIDERS, SUBGRAPH_NAMES } from '../subgraphs/registry.js';
import { REPO, bareEnv, runToEnd, startProgram, type RunningProgram } from './programs.js';
import { freshSecrets } from './secrets.js';

const usage = 'Usage: npm run rehearse -- [--env-file .env]';
const { values } = parseCommandLine({ options: { 'env-file': { type: 'string' } } }, usage);

/** The deployment's own settings that are not secrets, as this rehearsal gives them (the env file may say otherwise). */
const REHEARSAL = {
  JWT_ISSUER: 'patchbay-rehearsal',
  JWT_AUDIENCE: 'patchbay',
  WEB_CORS_ORIGINS: 'http://localhost:3000',
  EMAIL_FROM_ADDRESS: 'rehearsal@patchbay.example',
  MAILGUN_DOMAIN: providerEntry('mailgun').account.domain,
  S3_REGION: providerEntry('s3').account.region,
  S3_BUCKET: providerEntry('s3').account.bucket,
  MIXPANEL_PROJECT_ID: providerEntry('mixpanel').account.projectId,
  LOG_LEVEL: 'warn',
};

await runCommand('rehearse', async () => {
  const given = values['env-file'] ?? (existsSync(join(REPO, '.env')) ? join(REPO, '.env') : undefined);
  if (values['env-file'] && !existsSync(values['env-file'])) usageError(`${values['env-file']}: no such file\n${usage}`);
  const fromFile = given ? parseEnv(readFileSync(given, 'utf8')) : undefined;
  const deployment: Record<string, string> = { ...REHEARSAL, ...(fromFile ?? freshSecrets()) };
  delete deployment.NODE_ENV;
  console.log(given ? `secrets from ${given}` : 'no .env: fresh secrets for this run (npm run secrets > .env keeps a set)');

  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 300_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);

  const outbox = mkdtempSync(join(tmpdir(), 'patchbay-rehearsal-outbox-'));
  const running: RunningProgram[] = [];
  const stopAll = async () => {
    await Promise.all(running.reverse().map((program) => program.stop()));
    rmSync(outbox, { recursive: true, force: true });
  };
  try {
    // The sandbox is development-only: it runs without NODE_ENV=production, with the deployment's credentials.
    running.push(await startProgram(['node', 'dist/sandbox/index.js'], bareEnv({ ...deployment, LOG_LEVEL: 'info' })));
    const providers = Object.fromEntries(PROVIDERS.flatMap((p) => Object.entries(SANDBOX_PROVIDERS[p.name].env(localUrl(p.sandboxPort)))));
    const production = { ...providers, ...deployment, NODE_ENV: 'production', OUTBOX_DIR: outbox };
    for (const name of SUBGRAPH_NAMES)
      running.push(await startProgram(['node', 'dist/scripts/run-subgraph.js', name], bareEnv({ ...production, LOG_LEVEL: 'info' })));
    for (const client of CLIENTS)
      running.push(await startProgram(['node', 'dist/gateway/index.js', client.name], bareEnv({ ...production, LOG_LEVEL: 'info' })));

    const token = await mintToken(AuthConfig.parse(deployment), 'usr_00001', ['email:send']);
    console.log(
      [
        'production, rehearsed: each program compiled, its own process, NODE_ENV=production, against the sandbox',
        ...CLIENTS.map((client) => `  gateway ${client.name.padEnd(7)} ${localUrl(client.defaultPort)}/graphql`),
        `a token for usr_00001 (signed with this deployment's JWT_SECRET, issuer ${deployment.JWT_ISSUER}):`,
        `  TOKEN=${token}`,
        `  curl -s ${localUrl(clientByName('web')!.defaultPort)}/graphql -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d '{"query":"{ me { name storageUsedBytes } }"}'`,
        'Ctrl-C stops everything.',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    await stopAll();
  }
});
