import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../../kit/process/config.js';
import { freePort, until } from '../helpers.js';
import { bareEnv, runToEnd, startProgram, tsxProgram } from '../../scripts/programs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

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
    const schema = z.object({ A_PORT: env.port(1), B_URL: env.upstreamUrl('http://x'), C_FLAG: env.bool(false) });
    expect(() => loadConfig(schema, { A_PORT: 'eighty', B_URL: 'ftp://x', C_FLAG: 'maybe' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { A_PORT: 'eighty', B_URL: 'ftp://x', C_FLAG: 'maybe' });
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(':')[0])).toEqual(['A_PORT', 'B_URL', 'C_FLAG']);
    }
  });

  test('defaults point at the sandbox when nothing is set', () => {
    expect(loadConfig(z.object({ X_URL: env.upstreamUrl('http://127.0.0.1:4021') }), {})).toEqual({ X_URL: 'http://127.0.0.1:4021' });
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

describe('log levels', () => {
  test('every LOG_LEVEL the configuration accepts runs the gateway, silent and fatal included', async () => {
    for (const level of ['silent', 'fatal']) {
      const port = await freePort();
      const gateway = await startProgram(
        tsxProgram('gateway/index.ts', 'web'),
        bareEnv({ LOG_LEVEL: level, WEB_GATEWAY_PORT: String(port), WEB_METRICS_PORT: '0' }),
        {
          readyUrl: `http://127.0.0.1:${port}/readyz`,
        },
      );
      expect({ level, output: gateway.output() }).toEqual({
        level,
        output: level === 'silent' ? '' : expect.not.stringContaining('Invalid LOG_LEVEL'),
      });
      expect(await gateway.stop()).toBe(0);
    }
  });
});

describe('every program and script validates its settings before it does anything', () => {
  const programs: Array<[string, string[]]> = [
    ['gateway', tsxProgram('gateway/index.ts', 'web')],
    ['subgraph', tsxProgram('scripts/run-subgraph.ts', 'email')],
    ['sandbox', tsxProgram('sandbox/index.ts')],
    ['npm start', tsxProgram('scripts/start.ts')],
    ['bench', tsxProgram('bench/operations.ts')],
    ['token', tsxProgram('scripts/token.ts', 'usr_00001')],
    ['schema:check', tsxProgram('scripts/schema-check.ts')],
  ];
  test.each(programs)('%s: a bad LOG_LEVEL or NODE_ENV is one line each and exit 2, never a stack', async (_name, command) => {
    const { status, stdout, stderr } = await runToEnd(command, bareEnv({ LOG_LEVEL: 'verbose', NODE_ENV: 'prod' }));
    expect(status).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      'Invalid configuration:',
      '  - NODE_ENV: must be production, development or test',
      '  - LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(stdout).toBe('');
  });

  test('a bad argument to a script is a usage line and exit 2, before anything starts', async () => {
    const bench = await runToEnd(tsxProgram('bench/operations.ts', '--operation', 'Nope'), bareEnv());
    expect(bench).toMatchObject({ status: 2, stdout: '' });
    expect(bench.stderr).toBe('unknown operation Nope; choose from Dashboard, UserList, Home, HomeOnWeb\n');
    const flag = await runToEnd(tsxProgram('scripts/schema-check.ts', '--colour'), bareEnv());
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/^Unknown option '--colour'.*\nUsage: npm run schema:check/);
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
    await until(async () => (await fetch(`${url}/readyz`)).status === 503, { timeoutMs: 5000, what: '/readyz to say draining' });
    const draining = await fetch(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toMatchObject({ status: 'draining' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await exited).toBe(0);
  }, 20_000);
});
