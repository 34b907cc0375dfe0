import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../kit/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs one patchbay process the way it is deployed and returns how it ended. */
function run(entry: string, environment: Record<string, string>, args: string[] = []) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...environment },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: result.status, stderr: result.stderr };
}

describe('configuration', () => {
  test('every bad value is reported with its variable name', () => {
    const schema = z.object({ A_PORT: env.port(1), B_URL: env.url('http://x'), C_FLAG: env.bool(false) });
    expect(() => loadConfig(schema, { A_PORT: 'eighty', B_URL: 'ftp://x', C_FLAG: 'maybe' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { A_PORT: 'eighty', B_URL: 'ftp://x', C_FLAG: 'maybe' });
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual(['A_PORT', 'B_URL', 'C_FLAG']);
    }
  });

  test('defaults point at the sandbox when nothing is set', () => {
    expect(loadConfig(z.object({ X_URL: env.url('http://127.0.0.1:4021') }), {})).toEqual({ X_URL: 'http://127.0.0.1:4021' });
  });

  test('a subgraph process with a bad variable stops at start and names it', () => {
    const { status, stderr } = run('scripts/run-subgraph.ts', { S3_ENDPOINT: 'not a url', STORAGE_PORT: '70000' }, ['storage']);
    expect(status).toBe(2);
    expect(stderr).toContain('STORAGE_PORT');
    expect(stderr).toContain('S3_ENDPOINT: must be an http(s) URL');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test('a gateway process with an unknown client or a bad variable stops with a clear message', () => {
    expect(run('gateway/index.ts', {}, ['tablet'])).toMatchObject({ status: 2, stderr: expect.stringContaining('clients: web, mobile') });
    const bad = run('gateway/index.ts', { EMAIL_SUBGRAPH_URL: 'email:4012' }, ['web']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('EMAIL_SUBGRAPH_URL');
  });
});

describe('shutdown', () => {
  test('SIGTERM turns /readyz to draining while the process still serves, then it exits cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-subgraph.ts', 'accounts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ACCOUNTS_PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '3000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`exited before listening: ${output}`)));
    });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ status: 'draining' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await exited).toBe(0);
  }, 20_000);
});
