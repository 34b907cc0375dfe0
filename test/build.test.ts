/**
 * What production runs: `npm run build` compiled to dist/, copied with package.json and the
 * lockfile to a fresh directory, `npm ci --omit=dev` there (no tsx, no TypeScript), and the
 * compiled programs started with `node`: the sandbox (development), then a subgraph and the
 * web gateway with NODE_ENV=production and secrets of their own, answering a real query.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { listen, type RunningService } from '../kit/service.js';
import { createAccountsSandbox } from '../sandbox/accounts.js';
import { generateSeed } from '../sandbox/seed.js';
import { REPO, bareEnv, runToEnd, startProgram, type RunningProgram } from './programs.js';

let deployment: string;
const started: RunningProgram[] = [];
let accountsApi: RunningService;

beforeAll(async () => {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], bareEnv(), { timeoutMs: 120_000 });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  deployment = mkdtempSync(join(tmpdir(), 'patchbay-deploy-'));
  for (const entry of ['package.json', 'package-lock.json', 'dist']) cpSync(join(REPO, entry), join(deployment, entry), { recursive: true });
  const install = await runToEnd(
    ['npm', 'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    bareEnv(),
    { cwd: deployment, timeoutMs: 180_000 },
  );
  expect(install.status).toBe(0);
}, 300_000);

afterAll(async () => {
  for (const program of started.reverse()) await program.stop();
  await accountsApi?.close();
  if (deployment) rmSync(deployment, { recursive: true, force: true });
});

describe('the compiled build, with production dependencies only', () => {
  test('holds no development tooling', () => {
    for (const devOnly of ['tsx', 'typescript', 'jest', 'ts-jest', '@graphql-codegen/cli']) {
      expect({ devOnly, installed: existsSync(join(deployment, 'node_modules', devOnly)) }).toEqual({ devOnly, installed: false });
    }
    expect(existsSync(join(deployment, 'dist/gateway/index.js'))).toBe(true);
    expect(existsSync(join(deployment, 'dist/subgraphs/accounts/schema.graphql'))).toBe(true);
  });

  test('node dist/sandbox/index.js runs the sandbox providers', async () => {
    const sandbox = await startProgram(
      ['node', 'dist/sandbox/index.js'],
      bareEnv({ SANDBOX_ACCOUNTS_PORT: '0', SANDBOX_EMAIL_PORT: '0', SANDBOX_STORAGE_PORT: '0', SANDBOX_ANALYTICS_PORT: '0', SANDBOX_POSTMARK_PORT: '0', SANDBOX_USERS: '10' }),
      { cwd: deployment },
    );
    expect((await fetch(`${sandbox.url}/__sandbox/calls`)).status).toBe(200);
    expect(await sandbox.stop()).toBe(0);
  });

  test('a subgraph and the web gateway run compiled in production mode and answer a query', async () => {
    // The account service, with a credential of its own: production refuses the sandbox's.
    const accountsToken = 'accounts-token-of-this-deployment';
    accountsApi = await listen('accounts api', createAccountsSandbox({ users: generateSeed({ users: 5 }).users, token: accountsToken }).app, '127.0.0.1', 0);
    const internal = { INTERNAL_TOKEN_SECRET: 'internal-secret-of-this-deployment-0123456789' };
    const auth = { JWT_SECRET: 'jwt-secret-of-this-deployment-0123456789abcdef', JWT_ISSUER: 'https://id.example.com/', JWT_AUDIENCE: 'patchbay-web' };
    const production = { NODE_ENV: 'production', LOG_LEVEL: 'info', ...internal };

    const subgraph = await startProgram(
      ['node', 'dist/scripts/run-subgraph.js', 'accounts'],
      bareEnv({ ...production, ACCOUNTS_PORT: '0', ACCOUNTS_API_URL: accountsApi.url, ACCOUNTS_API_TOKEN: accountsToken }),
      { cwd: deployment },
    );
    started.push(subgraph);
    const gateway = await startProgram(
      ['node', 'dist/gateway/index.js', 'web'],
      bareEnv({ ...production, ...auth, WEB_GATEWAY_PORT: '0', WEB_CORS_ORIGINS: 'https://app.example.com', ACCOUNTS_SUBGRAPH_URL: `${subgraph.url}/graphql` }),
      { cwd: deployment },
    );
    started.push(gateway);

    const token = await mintToken(AuthConfig.parse(auth), 'usr_00001', []);
    const ask = async (query: string) => {
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
    };
    expect(await ask('{ me { id name } }')).toEqual({ data: { me: { id: 'usr_00001', name: expect.any(String) } } });
    // Production: the web schema is not open to introspection.
    expect((await ask('{ __schema { queryType { name } } }')).errors?.[0]?.message).toMatch(/introspection/i);
    // No development code path: tsx is not even installed.
    expect(gateway.output()).not.toContain('tsx');

    expect(await gateway.stop()).toBe(0);
    expect(await subgraph.stop()).toBe(0);
  });
});
