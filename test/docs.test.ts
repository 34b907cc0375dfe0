/**
 * The docs say what the code does: every environment variable a program reads is in the
 * README's configuration table and `.env.example` (and nothing else is); every file, folder,
 * script and README section that the README, CONTRIBUTING, the Dockerfile, the compose file
 * and `.env.example` name exists.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { CLIENTS } from '../gateway/clients/index.js';
import { REPO } from '../scripts/programs.js';
import { settings } from '../scripts/variables.js';
import { PROVIDERS, SUBGRAPH_NAMES } from '../subgraphs/registry.js';
import { envName } from '../kit/process/env-name.js';

const read = (file: string) => readFileSync(join(REPO, file), 'utf8');
const README = read('README.md');
const DOCUMENTS = ['README.md', 'CONTRIBUTING.md', 'Dockerfile', 'docker-compose.yml', '.env.example'];
const ALL = settings();

/** The placeholders the configuration table writes a family of variables with. */
const PLACEHOLDERS: Record<string, string[]> = {
  '<CLIENT>': CLIENTS.map((client) => envName(client.name)),
  '<SUBGRAPH>': SUBGRAPH_NAMES.map((name) => envName(name)),
  '<PROVIDER>': PROVIDERS.map((provider) => envName(provider.name)),
};
const expand = (name: string): string[] => {
  const placeholder = Object.keys(PLACEHOLDERS).find((key) => name.includes(key));
  return placeholder ? PLACEHOLDERS[placeholder]!.flatMap((value) => expand(name.replace(placeholder, value))) : [name];
};

/** The variables the README's configuration table names: `_SUFFIX` continues the first word of the name before it. */
function tableVariables(): Set<string> {
  const section = README.slice(README.indexOf('## Configuration'), README.indexOf('### Pointing a subgraph'));
  const names = new Set<string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    const cell = row.split(' | ')[0]!;
    let stem = '';
    for (const [, token] of cell.matchAll(/`([^`]+)`/g)) {
      if (/^(<[A-Z]+>|[A-Z])[A-Z0-9_<>]*$/.test(token!)) {
        stem = /^(<[A-Z]+>|[A-Z0-9]+)_/.exec(token!)?.[0] ?? '';
        for (const name of expand(token!)) names.add(name);
      } else if (/^_[A-Z0-9_]+$/.test(token!)) for (const name of expand(stem + token!.slice(1))) names.add(name);
    }
  }
  return names;
}

describe('environment variables', () => {
  test("the README's configuration table names every variable a program reads, and no other", () => {
    const documented = tableVariables();
    const read = new Set(ALL.map((setting) => setting.name));
    expect([...read].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !read.has(name))).toEqual([]);
  });

  test('.env.example names every variable a production program reads: what production requires uncommented, the rest commented', () => {
    const lines = read('.env.example').split('\n');
    const set = new Set(lines.flatMap((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []));
    const commented = new Set(lines.flatMap((line) => /^# ([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []));
    const production = ALL.filter((setting) => setting.programs.some((program) => program !== 'sandbox'));
    const required = production.filter((setting) => setting.rule !== 'optional').map((setting) => setting.name);
    const optional = production
      .filter((setting) => setting.rule === 'optional' && setting.name !== 'NODE_ENV')
      .map((setting) => setting.name);
    expect([...set].sort()).toEqual(['NODE_ENV', ...required].sort());
    expect([...commented].sort()).toEqual(optional.sort());
  });
});

describe('what the docs name exists', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  const headings = new Set([...README.matchAll(/^#+ (.+)$/gm)].map((match) => match[1]!.trim()));

  test.each(DOCUMENTS)('%s: every npm script it names', (file) => {
    const named = [...read(file).matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)].map((match) => match[1]!);
    expect(named.filter((script) => !scripts.includes(script))).toEqual([]);
  });

  test.each(DOCUMENTS)('%s: every file and folder of the repository it names', (file) => {
    const roots = readdirSync(REPO).filter((name) => !['node_modules', 'dist', '.git', '.outbox', '.env'].includes(name));
    // What the scaffold and release examples write (billing, partner, 1.4.0) and placeholders (NNNN) are not in the repository.
    const example = /billing|BillingItems|partner|PartnerViewer|NNNN|releases\/1\.4\.0/;
    const paths = [
      ...read(file).matchAll(/[`(\s]((?:\.?[\w-]+\/)+[\w.-]*|[\w-]+\.(?:ts|md|json|ya?ml|js)|Dockerfile|\.env\.example)[`)\s,.:;]/g),
    ]
      .map((match) => match[1]!.replace(/\.+$/, ''))
      .filter((path) => roots.includes(path.split('/')[0]!) && !example.test(path));
    expect([...new Set(paths)].filter((path) => !existsSync(join(REPO, path)))).toEqual([]);
  });

  test.each(DOCUMENTS)('%s: every README section it refers to', (file) => {
    const named = [...read(file).matchAll(/README(?:'s)? "([^"]+)"/g)].map((match) => match[1]!);
    expect(named.filter((section) => !headings.has(section))).toEqual([]);
  });
});
