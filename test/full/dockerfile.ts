/**
 * A Dockerfile's build replayed outside a container, where no image can be built: each stage
 * is a directory standing for its WORKDIR, COPY copies from the repository or an earlier
 * stage, RUN runs in a shell there with the stage's ENV (`npm ci` offline, from what is
 * installed). What it cannot replay (a base image's content, another WORKDIR) it refuses, so a
 * change to the Dockerfile cannot pass unreplayed.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export interface Stage {
  name: string;
  image: string;
  /** The directory standing for WORKDIR. */
  dir: string;
  env: Record<string, string>;
  user?: string;
  expose: string[];
  healthcheck?: { options: string[]; command: string[] };
  entrypoint?: string[];
  cmd?: string[];
  /** Every RUN, as written. */
  runs: string[];
}

const WORKDIR = '/app';

/** The instructions of a Dockerfile: continuation lines joined, comments and parser directives dropped. */
export function instructions(text: string): Array<{ keyword: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

const jsonArray = (args: string): string[] => {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`expected an exec-form JSON array: ${args}`);
  return parsed as string[];
};

/** Splits leading `--flag=value` options from the rest. */
function options(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let match = /^--([\w-]+)=(\S+)\s+/.exec(rest); match; match = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[match[1]!] = match[2]!;
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

function run(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn('sh', ['-c', command], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (status) =>
      status === 0 ? done() : fail(new Error(`RUN ${command} exited with ${status}:\n${output.slice(-4000)}`)),
    );
  });
}

/**
 * `npm ci`, offline: the context's own node_modules, installed from the same lockfile, stands
 * for the install (linked, not copied: the same files at no cost of space), and `--omit=dev`
 * removes what the lockfile marks as dev-only, as npm would, without asking the registry.
 */
async function installOffline(context: string, dir: string, omitDev: boolean): Promise<void> {
  const lock = readFileSync(join(dir, 'package-lock.json'), 'utf8');
  if (lock !== readFileSync(join(context, 'package-lock.json'), 'utf8'))
    throw new Error('npm ci: the stage has another package-lock.json than the installed node_modules');
  await run(`cp -al ${JSON.stringify(join(context, 'node_modules'))} node_modules`, dir, {});
  // npm's record of what it installed is written again by npm, not shared with the context's.
  rmSync(join(dir, 'node_modules/.package-lock.json'), { force: true });
  if (!omitDev) return;
  const { packages } = JSON.parse(lock) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, entry] of Object.entries(packages)) if (path && entry.dev) rmSync(join(dir, path), { recursive: true, force: true });
}

/**
 * Replays `dockerfile` with `context` as the build context into directories below `into`;
 * returns the stages in order (the last is the image).
 */
export async function replayDockerfile(dockerfile: string, context: string, into: string): Promise<Stage[]> {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const expand = (text: string) =>
    text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '');
  for (const { keyword, args: raw } of instructions(readFileSync(dockerfile, 'utf8'))) {
    const stage = stages.at(-1);
    const current = () => {
      if (!stage) throw new Error(`${keyword} before FROM`);
      return stage;
    };
    switch (keyword) {
      case 'ARG': {
        const [name, value = ''] = raw.split('=');
        args[name!] = value;
        break;
      }
      case 'FROM': {
        const [image, as, name] = expand(raw).split(/\s+/);
        if (as?.toUpperCase() !== 'AS' || !name) throw new Error(`FROM without a stage name: ${raw}`);
        const dir = join(into, name);
        mkdirSync(dir, { recursive: true });
        stages.push({ name, image: image!, dir, env: {}, expose: [], runs: [] });
        break;
      }
      case 'WORKDIR':
        if (raw !== WORKDIR) throw new Error(`only WORKDIR ${WORKDIR} can be replayed, not ${raw}`);
        break;
      case 'ENV': {
        const [name, ...value] = raw.split('=');
        current().env[name!] = value.join('=');
        break;
      }
      case 'COPY': {
        const { flags, rest } = options(raw);
        const paths = rest.split(/\s+/);
        const written = paths.pop()!;
        // Into a directory when the destination says so (`./`, `dir/`), else to that path.
        const intoDirectory = written.endsWith('/') || written === '.';
        const destination = resolve(current().dir, written);
        for (const source of paths) {
          const from = flags.from ? stages.find((s) => s.name === flags.from) : undefined;
          if (flags.from && !from) throw new Error(`COPY --from=${flags.from}: no such stage`);
          const origin = from ? join(from.dir, source.replace(new RegExp(`^${WORKDIR}/`), '')) : join(context, source);
          cpSync(origin, intoDirectory ? join(destination, basename(source)) : destination, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        // A cache mount is a cache kept between builds: nothing to replay.
        const command = raw.replace(/^(--mount=\S+\s+)+/, '');
        current().runs.push(command);
        if (/^npm ci\b/.test(command)) await installOffline(context, current().dir, /--omit=dev\b/.test(command));
        else await run(command, current().dir, current().env);
        break;
      }
      case 'USER':
        current().user = raw;
        break;
      case 'EXPOSE':
        current().expose.push(...raw.split(/\s+/));
        break;
      case 'HEALTHCHECK': {
        const at = raw.indexOf('CMD ');
        current().healthcheck = { options: raw.slice(0, at).trim().split(/\s+/).filter(Boolean), command: jsonArray(raw.slice(at + 4)) };
        break;
      }
      case 'ENTRYPOINT':
        current().entrypoint = jsonArray(raw);
        break;
      case 'CMD':
        current().cmd = jsonArray(raw);
        break;
      default:
        throw new Error(`${keyword} cannot be replayed`);
    }
  }
  return stages;
}
