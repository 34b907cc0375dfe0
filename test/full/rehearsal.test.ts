/**
 * Production rehearsed on one machine, as the README shows it: `npm run secrets` writes a
 * deployment's secrets, `npm run rehearse` runs every compiled program in production mode with
 * them against the sandbox, which takes the same credentials. A query crosses all four
 * subgraphs and their providers; a token signed with the committed development secret is
 * refused (production mode, for real).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, expect, test } from '@jest/globals';
import { AuthConfig, mintToken } from '../../gateway/auth.js';
import { localUrl } from '../../kit/process/local-defaults.js';
import { clientByName } from '../../gateway/clients/index.js';
import { bareEnv, runToEnd, startProgram, tsxProgram, type RunningProgram } from '../../scripts/programs.js';

const dir = mkdtempSync(join(tmpdir(), 'patchbay-rehearsal-'));
let rehearsal: RunningProgram | undefined;
afterAll(async () => {
  await rehearsal?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('npm run secrets, then npm run rehearse: the compiled production stack answers with those secrets only', async () => {
  const secrets = await runToEnd(['npm', 'run', '-s', 'secrets'], bareEnv());
  expect(secrets.status).toBe(0);
  const envFile = join(dir, '.env');
  writeFileSync(envFile, `${secrets.stdout}JWT_ISSUER=https://id.rehearsal.example/\n`);
  const deployment = parseEnv(secrets.stdout);
  expect(Object.values(deployment).every((value) => (value ?? '').length >= 16)).toBe(true);

  // What `npm run rehearse` runs, as its own process (so its own exit code is seen).
  rehearsal = await startProgram(tsxProgram('scripts/rehearse.ts', '--env-file', envFile), bareEnv(), {
    readyUrl: `${localUrl(clientByName('mobile')!.defaultPort)}/readyz`,
    timeoutMs: 240_000,
  });
  const ask = (authorization: string) =>
    fetch(`${localUrl(clientByName('web')!.defaultPort)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({
        query:
          '{ me { name storageUsedBytes files(first: 1) { nodes { name } } emailMessages(first: 1) { subject } recentEvents(last: 1) { name } } }',
      }),
    });
  const auth = AuthConfig.parse({ ...deployment, JWT_ISSUER: 'https://id.rehearsal.example/', JWT_AUDIENCE: 'patchbay' });
  const answer = (await (await ask(`Bearer ${await mintToken(auth, 'usr_00001', [])}`)).json()) as { data?: unknown; errors?: unknown };
  expect(answer.errors).toBeUndefined();
  expect(answer.data).toMatchObject({ me: { name: expect.any(String), storageUsedBytes: expect.any(Number) } });
  const local = await ask(`Bearer ${await mintToken(AuthConfig.parse({}), 'usr_00001', [])}`);
  expect(local.status).toBe(401);
  expect(await rehearsal.stop('SIGINT')).toBe(0);
  rehearsal = undefined;
}, 300_000);
