/**
 * `npm run new:client -- <name> [--safelist]`: a client of its own, in the shape of the
 * others: its file (gateway/clients/<name>.ts: port, schema, limits and query policy, every
 * setting overridable by `<NAME>_*`), a first operation (clients/<name>/), its place in the
 * client list and, as an example of what the deployment's own overlay gives it, an Ingress.
 * With --safelist it runs only its own operations, by id. Everything else a client has is
 * derived from the list by `npm run generate`: its API schema, operation types, persisted
 * manifest, gateway manifest, compose service, README and .env.example rows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLIENTS } from '../gateway/clients/index.js';
import { parseCommandLine, runCommand, usageError } from '../kit/process/cli.js';
import { METRICS_PORT_OFFSET } from '../kit/process/config.js';
import { PROVIDERS, REGISTRY, SUBGRAPH_NAMES } from '../subgraphs/registry.js';

const usage = 'Usage: npm run new:client -- <name> [--safelist]   (lower case letters and digits, e.g. partner)';
const root = new URL('..', import.meta.url);
const INGRESS = 'deploy/kubernetes/overlays/production/ingress.yaml';

await runCommand('new:client', async () => {
  const { values, positionals } = parseCommandLine(
    { allowPositionals: true, options: { safelist: { type: 'boolean', default: false } } },
    usage,
  );
  const [name, ...rest] = positionals;
  if (!name || rest.length) usageError(usage);
  if (!/^[a-z][a-z0-9]{1,30}$/.test(name))
    usageError(`"${name}" is not a name: lower case letters and digits, starting with a letter\n${usage}`);
  const taken = [...CLIENTS.map((client) => client.name), ...SUBGRAPH_NAMES, ...PROVIDERS.map((p) => p.name), 'sandbox', 'gateway'];
  if (taken.includes(name)) usageError(`"${name}" is taken (clients, subgraphs, providers and programs: ${taken.join(', ')})`);

  const Name = name[0]!.toUpperCase() + name.slice(1);
  // The strictest client's limits (the smallest body): a new client starts with least it may do.
  const model = [...CLIENTS].sort((a, b) => a.maxBodyBytes - b.maxBodyBytes)[0]!;
  const safelist = values.safelist === true;
  const used = [
    ...CLIENTS.map((client) => client.defaultPort),
    ...SUBGRAPH_NAMES.map((subgraph) => REGISTRY[subgraph].port),
    ...PROVIDERS.map((p) => p.sandboxPort),
  ].flatMap((port) => [port, port + METRICS_PORT_OFFSET]);
  const port = Math.max(...CLIENTS.map((client) => client.defaultPort)) + 1;
  if (used.includes(port) || used.includes(port + METRICS_PORT_OFFSET))
    throw new Error(`no free port next to the other clients' (${port})`);

  const files: Record<string, string> = {
    [`gateway/clients/${name}.ts`]: `import type { ClientConfig } from './types.js';

/**
 * The ${name} client${safelist ? ': fixed operations only (clients/${name}/*.graphql), by id' : ''}. Nothing of the schema is shown
 * to it but what it queries: no introspection, suggestions or IDE, no browser origins.
 */
export const ${name}: ClientConfig = {
  name: '${name}',
  defaultPort: ${port},
  safelist: ${safelist},
  fieldSuggestions: false,
  introspection: false,
  ide: false,
  defer: false,
  corsOrigins: [],
  // ${model.name}'s limits to start with: make them this client's own.
  limits: ${JSON.stringify(model.limits)},
  maxBodyBytes: ${model.maxBodyBytes},
  forwardHeaders: ${JSON.stringify(model.forwardHeaders)},
  subgraphTimeoutMs: ${model.subgraphTimeoutMs},
};
`,
    [`clients/${name}/${Name}Viewer.graphql`]: `# Who is calling: the ${name} client's first operation.
# budget: accounts.api=1
# Asked again at once: the signed-in user comes from the accounts cache.
# warm budget: none
query ${Name}Viewer {
  me {
    id
    name
  }
}
`,
  };
  for (const file of Object.keys(files)) if (existsSync(new URL(file, root))) usageError(`${file} exists already`);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(new URL('.', new URL(file, root)), { recursive: true });
    writeFileSync(new URL(file, root), text);
  }

  const index = new URL('gateway/clients/index.ts', root);
  const list = readFileSync(index, 'utf8');
  const declared = /export const CLIENTS: readonly ClientConfig\[\] = \[([^\]]*)\];/;
  if (!declared.test(list)) throw new Error('gateway/clients/index.ts has changed shape: no CLIENTS list to add the client to');
  writeFileSync(
    index,
    list
      .replace(
        "import type { ClientConfig } from './types.js';",
        `import type { ClientConfig } from './types.js';\nimport { ${name} } from './${name}.js';`,
      )
      .replace(declared, (_all, names: string) => `export const CLIENTS: readonly ClientConfig[] = [${names}, ${name}];`),
  );

  const ingress = new URL(INGRESS, root);
  writeFileSync(
    ingress,
    `${readFileSync(ingress, 'utf8').trimEnd()}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: gateway-${name}
  annotations:
    # ${name.toUpperCase()}_MAX_BODY_BYTES (${model.maxBodyBytes / 1024} KB).
    nginx.ingress.kubernetes.io/proxy-body-size: ${Math.ceil(model.maxBodyBytes / 1024)}k
spec:
  ingressClassName: nginx
  tls:
    - hosts: [${name}-api.patchbay.example]
      secretName: ${name}-api-patchbay-example-tls
  rules:
    - host: ${name}-api.patchbay.example
      http:
        paths:
          - path: /graphql
            pathType: Exact
            backend:
              service:
                name: gateway-${name}
                port:
                  name: http
`,
  );

  const written = [...Object.keys(files), 'gateway/clients/index.ts', INGRESS];
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('node_modules/prettier/bin/prettier.cjs', root)), '--write', '--log-level', 'warn', ...written],
    { cwd: fileURLToPath(root), stdio: 'inherit' },
  );
  process.stdout.write(
    [
      `client ${name} on port ${port}${safelist ? ', safelisted' : ''}:`,
      ...written.map((file) => `  ${file}`),
      'next: npm run generate   (its API schema, operation types, ' +
        `${safelist ? 'persisted manifest, ' : ''}gateway manifest, compose service and docs rows)`,
      `      npm start            (its gateway on ${port}, beside the others)`,
      '',
    ].join('\n'),
  );
});
