/**
 * `npm run new:client -- <name> --safelist` as a new contributor runs it: in a copy of the
 * repository, the scaffold, then `npm run generate`. Everything derived from the client list
 * follows (API schema, operation types, persisted manifest, gateway manifest, compose service,
 * README and .env.example rows); lint and types pass; the new client's operation, sent by id,
 * costs exactly its budget through its own gateway; that gateway, run as its own program,
 * refuses any other query; schema:check passes and the Kubernetes manifests render it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { AuthConfig, mintToken } from '../../gateway/auth.js';
import { REPO, startProgram, tsxProgram } from '../../scripts/programs.js';
import { copyRepository, type RepositoryCopy } from './repository-copy.js';

const HAS_KUBECTL = spawnSync('kubectl', ['version', '--client']).status === 0;
/** A client name no one would give one of their own. */
const NAME = 'scaffoldclient';
const OPERATION = `${NAME[0]!.toUpperCase()}${NAME.slice(1)}Viewer`;
let copy: RepositoryCopy;

beforeAll(() => {
  copy = copyRepository('patchbay-new-client-');
});
afterAll(() => copy?.remove());

describe('npm run new:client', () => {
  test('refuses a bad or taken name, saying why', async () => {
    for (const [args, reason] of [
      [[], /Usage: npm run new:client -- <name>/],
      [['Partner'], /lower case letters and digits/],
      [['web'], /"web" is taken/],
      [['accounts'], /"accounts" is taken/],
      [['partner', '--unknown'], /Unknown option '--unknown'/],
    ] as const) {
      const run = await copy.npm(['new:client', '--', ...args]);
      expect({ args, status: run.status, stderr: run.stderr }).toEqual({ args, status: 2, stderr: expect.stringMatching(reason) });
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('scaffolds a safelisted client whose gateway, manifests and docs come from the client list', async () => {
    const scaffold = await copy.npm(['new:client', '--', NAME, '--safelist']);
    expect(scaffold.stderr).toBe('');
    expect(scaffold.status).toBe(0);
    const written = scaffold.stdout
      .split('\n')
      .filter((line) => /^ {2}\S+$/.test(line))
      .map((line) => line.trim());
    expect(written).toEqual([
      `gateway/clients/${NAME}.ts`,
      `clients/${NAME}/${OPERATION}.graphql`,
      'gateway/clients/index.ts',
      'deploy/kubernetes/overlays/production/ingress.yaml',
    ]);
    const port = Number(/on port (\d+)/.exec(scaffold.stdout)?.[1]);
    expect(port).toBe(4002);

    const generate = await copy.npm(['generate']);
    expect(generate.status).toBe(0);
    const read = (file: string) => readFileSync(join(copy.dir, file), 'utf8');
    const manifest = JSON.parse(read(`clients/${NAME}/persisted-query-manifest.json`)) as { operations: Array<{ name: string }> };
    expect(manifest.operations.map((operation) => operation.name)).toEqual([OPERATION]);
    expect(read(`deploy/kubernetes/base/gateway-${NAME}.yaml`)).toContain(`args: ['dist/gateway/index.js', '${NAME}']`);
    const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { ports: string[] }> };
    expect(compose.services[`gateway-${NAME}`]?.ports).toEqual([`${port}:${port}`, `${port + 1000}:${port + 1000}`]);
    const upper = NAME.toUpperCase();
    expect(read('README.md')).toContain(
      `| \`<CLIENT>_MAX_COST\` | most estimated cost | web \`5000\`, mobile \`1000\`, ${NAME} \`1000\` |`,
    );
    expect(read('.env.example')).toContain(`# ${upper}_SAFELIST=true`);

    const lint = await copy.npm(['lint']);
    expect(lint.stdout + lint.stderr).toBe('');
    const types = await copy.tsc();
    expect(types.stdout).toBe('');
    expect(types.status).toBe(0);

    // The derived files are current, and the budgets include the new operation, sent by id to the new gateway.
    const jest = await copy.jest(['test/derived.test.ts', 'test/docs.test.ts', 'test/composition.test.ts', 'test/budgets.test.ts']);
    expect(jest.stderr).toContain(`${OPERATION} costs exactly its budget`);
    expect(jest.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(jest.status).toBe(0);

    const check = await copy.npm(['schema:check', '--', '--base', join(REPO, 'schema')], 300_000);
    expect(check.stdout).toMatch(/PASSED\n$/);
    expect(check.status).toBe(0);

    if (HAS_KUBECTL) {
      const rendered = spawnSync('kubectl', ['kustomize', join(copy.dir, 'deploy/kubernetes/overlays/production')], { encoding: 'utf8' });
      expect(rendered.status).toBe(0);
      const objects = rendered.stdout
        .split('\n---\n')
        .map((text) => parseYaml(text) as { kind: string; metadata: { name: string }; spec: { replicas?: number } });
      const own = objects.filter((object) => object.metadata.name === `gateway-${NAME}`).map((object) => object.kind);
      expect(own.sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'PodDisruptionBudget', 'Service']);
      expect(objects.find((object) => object.kind === 'Deployment' && object.metadata.name === `gateway-${NAME}`)?.spec.replicas).toBe(3);
    }
  }, 900_000);

  test('its gateway, run as its own program, is ready on its own and holds its clients to their safelist', async () => {
    const variable = (setting: string) => `${NAME.toUpperCase()}_${setting}`;
    const gateway = await startProgram(
      tsxProgram('gateway/index.ts', NAME),
      { ...copy.env, LOG_LEVEL: 'info', [variable('GATEWAY_PORT')]: '0', [variable('METRICS_PORT')]: '0' },
      { cwd: copy.dir, timeoutMs: 60_000 },
    );
    try {
      expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
      const authorization = `Bearer ${await mintToken(AuthConfig.parse({}), 'usr_00001', [])}`;
      const post = async (body: unknown) => {
        const response = await fetch(`${gateway.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body: JSON.stringify(body),
        });
        const { errors } = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        return { status: response.status, code: errors?.[0]?.extensions?.code };
      };
      expect(await post({ query: '{ me { id } }' })).toEqual({ status: 400, code: 'PERSISTED_QUERY_ID_REQUIRED' });
      const unknown = {
        persistedQuery: { version: 1, sha256Hash: createHash('sha256').update('query Other { me { id } }').digest('hex') },
      };
      expect(await post({ extensions: unknown })).toEqual({ status: 400, code: 'PERSISTED_QUERY_NOT_IN_LIST' });
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});
