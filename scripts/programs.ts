/**
 * patchbay programs as real child processes, the way they are deployed or run by hand: a
 * program that runs to its end (a refusal at start, a script), and a service that runs
 * until stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The environment a program gets: a PATH (and HOME for npm), and nothing else but `extra`. */
export const bareEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  ...extra,
});

/** A TypeScript program of the repository run with tsx, as `npm run` does. */
export const tsxProgram = (entry: string, ...args: string[]) => [process.execPath, '--import', 'tsx', entry, ...args];

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (or `timeoutMs`), in `cwd`, with exactly `env`. */
export function runToEnd(command: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The running processes of a process group (zombies waiting to be reaped are not), from /proc. */
export function groupMembers(groupId: number): number[] {
  const members: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ')'.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[2]) === groupId && fields[0] !== 'Z') members.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

export interface RunningProgram {
  child: ChildProcess;
  /** The URL the service logged it listens on (the first, for a program with several). */
  url: string;
  /** Where it serves /metrics, when it logged one. */
  metricsUrl?: string;
  output(): string;
  /**
   * Sends `signal` (SIGTERM) to the program and everything it started (`npm run` starts a
   * shell, tsx and node), waits until all of them are gone (SIGKILL after 15 s), and returns
   * the exit code of the program itself (-1 when a signal ended it, as npm is).
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a long-running program in its own process group (so `npm run` and what it starts
 * stop together) and resolves once it logged that it listens, or once `readyUrl` answers.
 */
export function startProgram(
  command: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; readyUrl?: string; timeoutMs?: number } = {},
): Promise<RunningProgram> {
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // no process of the group is left
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    signalGroup(signal);
    const giveUpAt = Date.now() + 15_000;
    while (groupMembers(child.pid!).length > 0) {
      if (Date.now() > giveUpAt) signalGroup('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`${command.join(' ')} did not become ready: ${output.slice(-2000)}`));
    }, options.timeoutMs ?? 30_000);
    const ready = (url: string) => {
      clearTimeout(timer);
      const metricsUrl = /"metricsUrl":"(http:\/\/[^"]+)"/.exec(output)?.[1];
      resolve({ child, url, ...(metricsUrl ? { metricsUrl } : {}), output: () => output, stop });
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match && !options.readyUrl) ready(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command.join(' ')} exited (${code}) before it was ready: ${output.slice(-2000)}`));
    });
    if (options.readyUrl) {
      const poll = async () => {
        while (child.exitCode === null) {
          const ok = await fetch(options.readyUrl!).then(
            (r) => r.ok,
            () => false,
          );
          if (ok) return ready(new URL(options.readyUrl!).origin);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      void poll();
    }
  });
}

/**
 * Waits for programs started together: all of them, or none. When one fails to start, the
 * others that did are stopped before its error is thrown, so that no process outlives the
 * test that started it (a leftover holds the test runner open).
 */
export async function startTogether<T extends readonly unknown[]>(
  starting: { readonly [K in keyof T]: Promise<T[K]> },
  stop: (started: T[number]) => Promise<unknown>,
): Promise<T> {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (!failed) return settled.map((outcome) => (outcome as PromiseFulfilledResult<T[number]>).value) as unknown as T;
  await Promise.all(settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [stop(outcome.value as T[number])] : [])));
  throw failed.reason;
}

/** `startTogether` for plain programs. */
export const startProgramsTogether = <T extends readonly RunningProgram[]>(starting: { readonly [K in keyof T]: Promise<T[K]> }) =>
  startTogether<T>(starting, (program) => program.stop());
