import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO, bareEnv, runToEnd } from '../../scripts/programs.js';

/**
 * A copy of the repository as a contributor has it (git's view when it is a checkout),
 * without installs and builds but with the same node_modules, to run a scaffold in.
 */
export function copyRepository(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const git = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  if (git.status === 0) {
    for (const file of git.stdout.split('\n').filter((f) => f && !f.startsWith('dist/'))) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      cpSync(join(REPO, file), join(dir, file), { force: true });
    }
  } else {
    const skipped = new Set(['node_modules', 'dist', '.git', 'coverage', '.outbox']);
    cpSync(REPO, dir, { recursive: true, filter: (src) => !skipped.has(src.slice(REPO.length).split('/')[0] ?? '') });
  }
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const env = bareEnv({ LOG_LEVEL: 'silent' });
  const tool = (script: string, args: string[], timeoutMs = 300_000, extra: NodeJS.ProcessEnv = {}) =>
    runToEnd([process.execPath, join(REPO, 'node_modules', script), ...args], { ...env, ...extra }, { cwd: dir, timeoutMs });
  return {
    dir,
    env,
    npm: (args: string[], timeoutMs = 180_000) => runToEnd(['npm', 'run', '-s', ...args], env, { cwd: dir, timeoutMs }),
    tsc: () => tool('typescript/bin/tsc', ['--noEmit']),
    jest: (args: string[]) => tool('jest/bin/jest.js', ['--verbose', ...args], 300_000, { NODE_OPTIONS: '--experimental-vm-modules' }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
export type RepositoryCopy = ReturnType<typeof copyRepository>;
