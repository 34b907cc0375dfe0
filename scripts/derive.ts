/**
 * `npm run derive` (part of `npm run generate`): writes every file, or part of one, that the
 * client list (gateway/clients/) and its settings tables (gateway/settings.ts) determine: the
 * README's table of client settings, each client's block of `.env.example`, each gateway's
 * Kubernetes manifest and the kustomization's lists of them, and the gateways of
 * docker-compose.yml. test/derived.test.ts fails when a committed copy is not what this writes,
 * so adding a client is its file and its operations.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CLIENTS, clientSupergraphFile, type ClientConfig } from '../gateway/clients/index.js';
import { ALL_CLIENT_SETTINGS, clientSchema, clientVariable } from '../gateway/settings.js';
import { METRICS_PORT_OFFSET, productionRules } from '../kit/process/config.js';
import { runCommand } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';
import { releasesDir } from '../gateway/releases.js';
import { gatewayManifest, releasesConfigMap } from './derive/gateway-manifest.js';
import { REPO } from './programs.js';

const README_MARKERS = [
  '<!-- client settings: written by npm run derive from gateway/settings.ts; edit there -->',
  '<!-- end of client settings -->',
];
const ENV_MARKERS = [
  '# --- Gateways, each client its own (written by npm run derive from gateway/settings.ts) -------------',
  "# --- end of the clients' settings",
];

const shown = (value: unknown) => (value === undefined ? 'none' : Array.isArray(value) ? value.join(',') || 'none' : String(value));

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

/** Replaces the lines of `text` that `line` matches, together, with `lines` (where the first of them was). */
function withLines(text: string, line: RegExp, lines: string[], file: string): string {
  const all = text.split('\n');
  const first = all.findIndex((candidate) => line.test(candidate));
  if (first < 0) throw new Error(`${file} has changed shape: no line like ${line}`);
  const rest = all.filter((candidate) => !line.test(candidate));
  rest.splice(first, 0, ...lines);
  return rest.join('\n');
}

const KUSTOMIZATION = 'deploy/kubernetes/base/kustomization.yaml';
const gatewayManifestFile = (name: string) => `deploy/kubernetes/base/gateway-${name}.yaml`;

/** A client's committed releases (clients/<client>/releases/), file names sorted; none for a client without. */
const releaseFiles = (client: ClientConfig) => {
  const dir = releasesDir(client.name);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((file) => file.endsWith('.json'))
        .sort()
    : [];
};
/** Kubernetes serves them from a ConfigMap, which kustomize generates only from files below the kustomization. */
const DEPLOYED_RELEASES = 'deploy/kubernetes/base/releases';
const RELEASES_MARKERS = [
  "  # --- each client's app releases (npm run release): written by npm run derive from clients/<client>/releases/",
  '  # --- end of the releases',
];
function releaseGenerators(): string {
  return CLIENTS.filter((client) => releaseFiles(client).length)
    .map((client) =>
      [
        `  - name: ${releasesConfigMap(client)}`,
        '    files:',
        ...releaseFiles(client).map((file) => `      - releases/${client.name}/${file}`),
      ].join('\n'),
    )
    .join('\n');
}

/** The gateways of docker-compose.yml, one service each, on the anchors the file defines above them. */
function composeGateways(): string {
  return CLIENTS.map(
    (client) => `  gateway-${client.name}:
    <<: *patchbay
    command: ['dist/gateway/index.js', '${client.name}']
    environment: *gateway-environment
    ports: ['${client.defaultPort}:${client.defaultPort}', '${client.defaultPort + METRICS_PORT_OFFSET}:${client.defaultPort + METRICS_PORT_OFFSET}']
    healthcheck:
      test: ['CMD', 'node', 'dist/scripts/healthcheck.js', '${client.defaultPort}']
    depends_on: *subgraphs
`,
  ).join('\n');
}
const COMPOSE_MARKERS = [
  '  # --- the gateways, one per client: written by npm run derive from gateway/clients/',
  '  # --- end of the gateways',
];

/** Each derived file: what it should hold, given what it holds now (a whole file: its current text is ignored). */
export const DERIVED: ReadonlyArray<{ file: string; derive: (current: string | undefined) => string }> = [
  { file: 'README.md', derive: (readme) => withGenerated(readme!, README_MARKERS, clientSettingsTable()) },
  { file: '.env.example', derive: (example) => withGenerated(example!, ENV_MARKERS, clientEnvironmentBlocks()) },
  ...CLIENTS.map((client) => ({
    file: gatewayManifestFile(client.name),
    derive: () => gatewayManifest(client, releaseFiles(client).length > 0),
  })),
  ...CLIENTS.flatMap((client) =>
    releaseFiles(client).map((file) => ({
      file: `${DEPLOYED_RELEASES}/${client.name}/${file}`,
      derive: () => readFileSync(join(releasesDir(client.name), file), 'utf8'),
    })),
  ),
  {
    file: KUSTOMIZATION,
    derive: (kustomization) => {
      const manifests = withLines(
        kustomization!,
        /^ {2}- gateway-[a-z0-9]+\.yaml$/,
        CLIENTS.map((client) => `  - ${basename(gatewayManifestFile(client.name))}`),
        KUSTOMIZATION,
      );
      const supergraphs = [...new Set(CLIENTS.map((client) => basename(fileURLToPath(clientSupergraphFile(client)))))];
      const withSupergraphs = withLines(
        manifests,
        /^ {6}- supergraphs\/.+\.graphql$/,
        supergraphs.map((file) => `      - supergraphs/${file}`),
        KUSTOMIZATION,
      );
      return withGenerated(withSupergraphs, RELEASES_MARKERS, releaseGenerators());
    },
  },
  { file: 'docker-compose.yml', derive: (compose) => withGenerated(compose!, COMPOSE_MARKERS, composeGateways()) },
];

/** Derived files nothing derives any more: gateway manifests of clients that are gone, copies of releases retired or removed. */
export function staleDerivedFiles(): string[] {
  const base = new URL('../deploy/kubernetes/base/', import.meta.url);
  const derived = new Set(DERIVED.map(({ file }) => file));
  const manifests = readdirSync(base)
    .filter((file) => /^gateway-[a-z0-9]+\.yaml$/.test(file))
    .map((file) => `deploy/kubernetes/base/${file}`);
  const releasesRoot = join(REPO, DEPLOYED_RELEASES);
  const releaseCopies = existsSync(releasesRoot)
    ? readdirSync(releasesRoot, { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.json'))
        .map((file) => `${DEPLOYED_RELEASES}/${file}`)
    : [];
  return [...manifests, ...releaseCopies].filter((file) => !derived.has(file));
}

/** Writes every derived file, and removes what nothing derives any more. */
export function writeDerived(): void {
  for (const { file, derive } of DERIVED) {
    const path = join(REPO, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, derive(existsSync(path) ? readFileSync(path, 'utf8') : undefined));
  }
  for (const file of staleDerivedFiles()) rmSync(join(REPO, file));
}

if (isMainModule(import.meta.url)) await runCommand('derive', async () => writeDerived());
