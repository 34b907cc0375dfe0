/**
 * `npm run docs`: writes what the docs derive from the code, between their markers: the
 * README's table of client settings and each client's block of `.env.example`, from the tables
 * in gateway/settings.ts and each client's file. test/docs.test.ts fails when a copy is not
 * what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENTS } from '../gateway/clients/index.js';
import { ALL_CLIENT_SETTINGS, clientSchema, clientVariable } from '../gateway/settings.js';
import { productionRules } from '../kit/config.js';
import { runCommand } from '../kit/cli.js';
import { isMainModule } from '../kit/service.js';
import { REPO } from './programs.js';

const README_MARKERS = [
  '<!-- client settings: written by npm run docs from gateway/settings.ts; edit there -->',
  '<!-- end of client settings -->',
];
const ENV_MARKERS = [
  '# --- Gateways, each client its own (written by npm run docs from gateway/settings.ts) -------------',
  "# --- end of the clients' settings",
];

const shown = (value: unknown) => (Array.isArray(value) ? value.join(',') || 'none' : String(value));

/** A setting's local default for each client, once when they all share it. */
function defaults(row: (typeof ALL_CLIENT_SETTINGS)[number]): string {
  const each = CLIENTS.map((client) => ({ client: client.name, value: shown(row.read(client, false).parse(undefined)) }));
  if (each.every(({ value }) => value === each[0]!.value)) return `\`${each[0]!.value}\``;
  return each.map(({ client, value }) => `${client} \`${value}\``).join(', ');
}

export function clientSettingsTable(): string {
  return [
    "| variable | what it sets in each client's gateway | default |",
    '| --- | --- | --- |',
    ...ALL_CLIENT_SETTINGS.map((row) => `| \`<CLIENT>_${row.variable}\` | ${row.about} | ${defaults(row)} |`),
  ].join('\n');
}

/** The variables of where a client's gateway finds its supergraph and serves its metrics (README: Configuration). */
const WHERE_FROM: Record<string, string> = {
  METRICS_PORT: "/metrics, off the clients' port (default: the port + 1000)",
  SUPERGRAPH_PATH: "the supergraph file, watched (default: the client's composed one)",
  SUPERGRAPH_URL: 'or one served over HTTP, polled',
  SUPERGRAPH_POLL_MS: 'how often it is polled',
};

/** What production reads of each client, its production default shown; those it requires uncommented. */
export function clientEnvironmentBlocks(): string {
  return CLIENTS.map((client) => {
    const schema = clientSchema(client, true);
    const about = new Map([...ALL_CLIENT_SETTINGS.map((row) => [row.variable, row.about] as const), ...Object.entries(WHERE_FROM)]);
    const lines = productionRules(schema).map(({ name, rule }) => {
      const variable = clientVariable(client, name as Parameters<typeof clientVariable>[1]);
      if (rule !== 'optional') return `# ${about.get(name) ?? name}\n${variable}=`;
      const fallback = schema.shape[name as keyof typeof schema.shape].safeParse(undefined);
      const value = fallback.success && fallback.data !== undefined ? shown(fallback.data) : '';
      return `# ${`${variable}=${value === 'none' ? '' : value}`.padEnd(36)} ${about.get(name) ?? ''}`.trimEnd();
    });
    return [`# ${client.name} gateway`, ...lines].join('\n');
  }).join('\n\n');
}

/** A file with its generated part between `markers` as the code has it now. */
function withGenerated(text: string, [begin, end]: string[], generated: string): string {
  const from = text.indexOf(begin!);
  const to = text.indexOf(end!);
  if (from < 0 || to < from) throw new Error(`lost its markers: ${begin} ... ${end}`);
  return `${text.slice(0, from + begin!.length)}\n${generated}\n${text.slice(to)}`;
}

export const currentReadme = (readme: string) => withGenerated(readme, README_MARKERS, clientSettingsTable());
export const currentEnvExample = (example: string) => withGenerated(example, ENV_MARKERS, clientEnvironmentBlocks());

if (isMainModule(import.meta.url)) {
  await runCommand('docs', async () => {
    for (const [name, current] of [
      ['README.md', currentReadme],
      ['.env.example', currentEnvExample],
    ] as const) {
      const file = join(REPO, name);
      writeFileSync(file, current(readFileSync(file, 'utf8')));
    }
  });
}
