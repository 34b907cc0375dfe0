/**
 * `npm run new:subgraph -- <name>`: a working subgraph over a new sandbox REST provider, in
 * the shape of every other: subgraphs/<name>/ (SDL extending User, config, provider client
 * with its policy, loader, resolvers, definition), sandbox/<name>.ts (the provider, speaking
 * JSON with a bearer key), its registry entry and sandbox registration, an operation of the
 * first client that sends its own queries (web) with its upstream-call budget, and a test
 * through that client's gateway. Then run
 * `npm run generate` and `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLIENTS } from '../gateway/clients/index.js';
import { runCommand, usageError } from '../kit/process/cli.js';
import { PROVIDERS, REGISTRY, SUBGRAPH_NAMES } from '../subgraphs/registry.js';
import { namesOf, templates, type Names } from './new-subgraph/templates.js';

const usage = 'Usage: npm run new:subgraph -- <name>   (lower case letters and digits, e.g. billing)';
const root = new URL('..', import.meta.url);
/** What the scaffold changes besides its own files, to run the subgraph deployed. */
const DEPLOYMENT_FILES = [
  'deploy/kubernetes/base/kustomization.yaml',
  'deploy/kubernetes/base/config.yaml',
  'deploy/kubernetes/base/deployment.env',
  'deploy/kubernetes/overlays/production/deployment.env',
  'docker-compose.yml',
];

await runCommand('new:subgraph', async () => {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || rest.length) usageError(usage);
  if (!/^[a-z][a-z0-9]{1,30}$/.test(name))
    usageError(`"${name}" is not a name: lower case letters and digits, starting with a letter\n${usage}`);
  const taken = [...SUBGRAPH_NAMES, ...PROVIDERS.map((p) => p.name), 'sandbox', 'gateway', ...CLIENTS.map((client) => client.name)];
  if (taken.includes(name)) usageError(`"${name}" is taken (subgraphs, providers and programs: ${taken.join(', ')})`);
  const client = CLIENTS.find((candidate) => !candidate.safelist);
  if (!client) throw new Error('no client sends its own queries: the new field would have no operation to test it with');
  const names = namesOf(name, client.name);
  const files = templates(names);
  for (const file of Object.keys(files)) if (existsSync(new URL(file, root))) usageError(`${file} exists already`);

  const port = Math.max(...SUBGRAPH_NAMES.map((s) => REGISTRY[s].port)) + 1;
  const sandboxPort = Math.max(...PROVIDERS.map((p) => p.sandboxPort)) + 1;
  if ([port, sandboxPort].some((p) => CLIENTS.some((client) => client.defaultPort === p)))
    throw new Error('no free port next to the others');

  for (const [file, text] of Object.entries(files)) {
    mkdirSync(new URL('.', new URL(file, root)), { recursive: true });
    writeFileSync(new URL(file, root), text);
  }
  insert(
    'subgraphs/registry.ts',
    '} as const satisfies Record<string, SubgraphEntry>;',
    `  ${name}: {\n    port: ${port},\n    providers: { ${name}: { sandboxPort: ${sandboxPort}, source: '${name}.api', credentials: { apiKey: 'sandbox-${name}-key' } } },\n  },\n`,
  );
  insert(
    'sandbox/providers.ts',
    "import type { SandboxProvider } from './provider.js';",
    `import { sandboxProvider as ${name} } from './${name}.js';\n`,
  );
  const providers = readFileSync(new URL('sandbox/providers.ts', root), 'utf8').replace(
    /export const SANDBOX_PROVIDERS = \{ ([^}]*) \}/,
    (_all, list: string) => `export const SANDBOX_PROVIDERS = { ${list}, ${name} }`,
  );
  writeFileSync(new URL('sandbox/providers.ts', root), providers);

  deployment(names, port, sandboxPort);

  const written = [
    ...Object.keys(files),
    'subgraphs/registry.ts',
    'sandbox/providers.ts',
    ...DEPLOYMENT_FILES,
    `deploy/kubernetes/base/subgraph-${name}.yaml`,
  ];
  execFileSync(
    process.execPath,
    [
      fileURLToPath(new URL('node_modules/prettier/bin/prettier.cjs', root)),
      '--write',
      '--log-level',
      'warn',
      // Prettier has no parser for env files.
      ...written.filter((file) => !file.endsWith('.env')),
    ],
    {
      cwd: fileURLToPath(root),
      stdio: 'inherit',
    },
  );
  process.stdout.write(
    [
      `subgraph ${name} on port ${port}, its sandbox provider on ${sandboxPort}:`,
      ...written.map((file) => `  ${file}`),
      'next: npm run generate   (composes it into the supergraph and types its resolvers and operation)',
      `      npm test             (test/${name}.test.ts runs ${names.Name}Items through the ${client.name} gateway)`,
      '',
    ].join('\n'),
  );
});

/**
 * Where the subgraph runs deployed: its Kubernetes Deployment, Service, budget and autoscaler
 * (from the accounts subgraph's, as every subgraph's are alike), the gateways' URL of it, and
 * its docker-compose service on the sandbox.
 */
function deployment({ name, NAME }: Names, port: number, sandboxPort: number): void {
  let manifest = readFileSync(new URL('deploy/kubernetes/base/subgraph-accounts.yaml', root), 'utf8');
  const replacements: Array<[string | RegExp, string]> = [
    [/^# .*$/m, `# The ${name} subgraph over the ${name} provider.`],
    [/subgraph-accounts/g, `subgraph-${name}`],
    [/'dist\/scripts\/run-subgraph\.js', 'accounts'/g, `'dist/scripts/run-subgraph.js', '${name}'`],
    [/\b4011\b/g, String(port)],
    [/\b5011\b/g, String(port + 1000)],
    [/ACCOUNTS_PORT/g, `${NAME}_PORT`],
    [/ACCOUNTS_API_TOKEN/g, `${NAME}_API_KEY`],
  ];
  for (const [pattern, replacement] of replacements) {
    if (!manifest.match(pattern)) throw new Error(`deploy/kubernetes/base/subgraph-accounts.yaml has changed shape: no ${pattern}`);
    manifest = manifest.replace(pattern, replacement);
  }
  writeFileSync(new URL(`deploy/kubernetes/base/subgraph-${name}.yaml`, root), manifest);
  insert('deploy/kubernetes/base/kustomization.yaml', '  - network-policy.yaml', `  - subgraph-${name}.yaml\n`);
  append('deploy/kubernetes/base/config.yaml', `  ${NAME}_SUBGRAPH_URL: http://subgraph-${name}:${port}/graphql\n`);
  // Its upstream is each deployment's own setting.
  for (const file of ['deploy/kubernetes/base/deployment.env', 'deploy/kubernetes/overlays/production/deployment.env'])
    append(file, `${NAME}_API_URL=https://${name}.example.com\n`);

  insert(
    'docker-compose.yml',
    '  # --- the gateways, one per client',
    `  ${name}:
    <<: *patchbay
    command: ['dist/scripts/run-subgraph.js', '${name}']
    environment:
      <<: *environment
      ${NAME}_API_URL: http://sandbox:${sandboxPort}
    healthcheck:
      test: ['CMD', 'node', 'dist/scripts/healthcheck.js', '${port}']
    depends_on: { sandbox: { condition: service_healthy }, redis: { condition: service_healthy } }

`,
  );
  const compose = readFileSync(new URL('docker-compose.yml', root), 'utf8')
    .replace(/ports: \['4021-(\d+):4021-\d+'\]/, `ports: ['4021-${sandboxPort}:4021-${sandboxPort}']`)
    .replace(/(\n\s+)ANALYTICS_SUBGRAPH_URL: (.*)/, `$&$1${NAME}_SUBGRAPH_URL: http://${name}:${port}/graphql`);
  writeFileSync(new URL('docker-compose.yml', root), compose);
}

/** Puts `text` at the end of a file. */
function append(file: string, text: string): void {
  const path = new URL(file, root);
  writeFileSync(path, readFileSync(path, 'utf8') + text);
}

/** Puts `text` before `anchor` (or after it, when the anchor is an import line) in a file. */
function insert(file: string, anchor: string, text: string): void {
  const path = new URL(file, root);
  const content = readFileSync(path, 'utf8');
  if (!content.includes(anchor)) throw new Error(`${file} has changed shape: no "${anchor}" to add the new subgraph at`);
  writeFileSync(
    path,
    anchor.startsWith('import') ? content.replace(anchor, `${anchor}\n${text.trimEnd()}`) : content.replace(anchor, `${text}${anchor}`),
  );
}
