/**
 * Three app releases in the life of the mobile client, as its teams live them, in a copy of the
 * repository with its own git history (each change a branch checked against main by
 * `npm run schema:check`, as CI does, then merged) and one mobile gateway that serves the copy's
 * supergraph and releases, reloading both as they change:
 *
 * 1. 1.0 ships (the committed release: its Home asks for the user's `name`).
 * 2. The mobile schema gains `User.createdAt` and deprecates `User.name`; the app's Home moves to
 *    `createdAt` and ships as 1.1. Phones on 1.0 keep working.
 * 3. Removing `name` from the mobile schema fails schema:check, naming release 1.0.0, its
 *    operation and the field.
 * 4. 1.0 cannot be retired while it has traffic; once its share drops, it is.
 * 5. The removal passes, and a phone still on 1.0 is told to upgrade.
 *
 * Each release is an Apollo Client app whose persisted-query link takes its ids from that
 * release's manifest, as the app was built.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest, type PersistedQueryManifestForVerification } from '@apollo/persisted-query-lists';
import { mobile } from '../../gateway/clients/mobile.js';
import { startGateway } from '../../gateway/index.js';
import type { RunningService } from '../../kit/process/service.js';
import type { CheckReport } from '../../scripts/schema-check.js';
import { startStack, type Stack } from '../../scripts/stack.js';
import { as, until } from '../helpers.js';
import { copyRepository, type RepositoryCopy } from './repository-copy.js';

let copy: RepositoryCopy;
let stack: Stack;
let gateway: RunningService;
let authorization: string;

const git = (...args: string[]) => {
  const run = spawnSync('git', ['-c', 'user.name=Mobile Team', '-c', 'user.email=mobile@example.com', ...args], {
    cwd: copy.dir,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
};
const edit = (file: string, from: string, to: string) => {
  const path = join(copy.dir, file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  writeFileSync(path, text.replace(from, to));
};
const npm = async (...args: string[]) => {
  const run = await copy.npm(args, 300_000);
  if (run.status !== 0) throw new Error(`npm run ${args.join(' ')} exited ${run.status}: ${run.stderr.slice(-2000)}`);
  return run.stdout;
};
/** A change as a pull request: a branch, regenerated, checked against main as CI checks it. */
async function propose(change: () => void): Promise<CheckReport> {
  git('checkout', '-q', '-b', 'change');
  change();
  await npm('generate');
  git('add', '-A');
  git('commit', '-qm', 'change');
  const run = await copy.npm(['schema:check', '--', '--skip', 'budgets', '--json'], 300_000);
  return JSON.parse(run.stdout) as CheckReport;
}
const merge = () => {
  git('checkout', '-q', 'main');
  git('merge', '-q', '--ff-only', 'change');
  git('branch', '-q', '-d', 'change');
};
const abandon = () => {
  git('checkout', '-q', '-f', 'main');
  git('branch', '-q', '-D', 'change');
};
const step = (report: CheckReport, name: string) => report.steps.find((s) => s.step === name)!;

/** The app of one release: its Home document and the ids its build took from that release's manifest. */
function app(version: string) {
  const manifest = JSON.parse(
    readFileSync(join(copy.dir, 'clients/mobile/releases', `${version}.json`), 'utf8'),
  ) as PersistedQueryManifestForVerification & { operations: Array<{ name: string; body: string }> };
  const home = gql(manifest.operations.find((operation) => operation.name === 'Home')!.body);
  const apollo = new ApolloClient({
    link: new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })).concat(
      new HttpLink({ uri: `${gateway.url}/graphql`, headers: { authorization, 'x-app-version': version } }),
    ),
    cache: new InMemoryCache(),
  });
  return async () => {
    const result = await apollo.query({ query: home, variables: { userId: 'usr_00001' }, fetchPolicy: 'network-only', errorPolicy: 'all' });
    return {
      user: result.data ? (result.data as { user: Record<string, unknown> }).user : undefined,
      codes: (result.error ? ('errors' in result.error ? (result.error.errors as Array<{ extensions?: { code?: string } }>) : []) : []).map(
        (error) => error.extensions?.code,
      ),
      error: result.error,
    };
  };
}

beforeAll(async () => {
  copy = copyRepository('patchbay-release-scenario-');
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', '1.0 shipped');
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  authorization = (await as('usr_00001')).authorization!;
  gateway = await startGateway(mobile, {
    ...stack.subgraphUrls,
    LOG_LEVEL: 'silent',
    MOBILE_GATEWAY_PORT: '0',
    MOBILE_METRICS_PORT: '0',
    MOBILE_SUPERGRAPH_PATH: join(copy.dir, 'schema/mobile.supergraph.graphql'),
    MOBILE_RELEASES_PATH: join(copy.dir, 'clients/mobile/releases'),
  });
}, 120_000);
afterAll(async () => {
  await gateway?.close();
  await stack?.close();
  copy?.remove();
});

test('1.0 ships, 1.1 moves to a new field, the old field goes only once 1.0 is retired, and 1.0 is then told to upgrade', async () => {
  const name = stack.sandbox.seed.users[0]!.name;
  const app1 = app('1.0.0');
  expect(await app1()).toMatchObject({ user: { id: 'usr_00001', name }, codes: [] });

  // 2. A field gained and one deprecated; Home moves on and ships as 1.1.
  const additive = await propose(() => {
    edit('subgraphs/accounts/schema.graphql', '  createdAt: DateTime!\n', '  createdAt: DateTime! @tag(name: "mobile")\n');
    edit(
      'subgraphs/accounts/schema.graphql',
      '  name: String! @tag(name: "mobile")\n',
      '  name: String! @tag(name: "mobile") @deprecated(reason: "Apps show when the user joined (createdAt) instead")\n',
    );
    edit('clients/mobile/Home.graphql', '    id\n    name\n    files', '    id\n    createdAt\n    files');
  });
  expect(additive.steps.map((s) => [s.step, s.status])).toEqual([
    ['composition', 'passed'],
    ['freshness', 'passed'],
    ['breaking', 'passed'],
    ['operations', 'passed'],
    ['budgets', 'skipped'],
    ['lint', 'passed'],
  ]);
  await npm('release', '--', 'mobile', '1.1.0');
  git('add', '-A');
  git('commit', '-qm', '1.1 shipped');
  merge();

  const app11 = app('1.1.0');
  await until(async () => (await app11()).codes.length === 0, { what: 'the gateway to serve the new schema and release 1.1.0' });
  expect(await app11()).toMatchObject({ user: { id: 'usr_00001', createdAt: expect.any(String) }, codes: [] });
  expect(await app1()).toMatchObject({ user: { id: 'usr_00001', name }, codes: [] });

  // 3. Removing the deprecated field breaks what 1.0 runs: refused, naming 1.0.0, Home and the field.
  const removal = () =>
    edit('subgraphs/accounts/schema.graphql', '  name: String! @tag(name: "mobile") @deprecated', '  name: String! @deprecated');
  const early = await propose(removal);
  expect(early.ok).toBe(false);
  expect(step(early, 'breaking').findings.map((f) => f.message)).toContainEqual(
    "BREAKING for mobile: Field 'name' (deprecated) was removed from object type 'User' (used by mobile/Home (release 1.0.0))",
  );
  expect(step(early, 'operations').findings).toEqual([
    expect.objectContaining({
      level: 'error',
      message: expect.stringMatching(/^mobile\/Home \(release 1\.0\.0\): Cannot query field "name" on type "User"/),
      fix: expect.stringContaining('retire 1.0.0'),
    }),
  ]);
  abandon();

  // 4. Retiring 1.0 is refused while it carries traffic, and done once its share dropped.
  const snapshot = join(copy.dir, 'metrics.txt');
  const retire = async () => {
    writeFileSync(snapshot, await (await fetch(`${gateway.metricsUrl}/metrics`)).text());
    return copy.npm(['release:retire', '--', 'mobile', '1.0.0', '--snapshot', snapshot, '--retirable-below', '5']);
  };
  const busy = await retire();
  expect({ status: busy.status, stderr: busy.stderr }).toEqual({
    status: 2,
    stderr: expect.stringMatching(/1\.0\.0 still carries \d+\.\d+ % of the requests/),
  });
  for (let i = 0; i < 80; i++) expect((await app11()).codes).toEqual([]);
  const retired = await retire();
  expect({ status: retired.status, stderr: retired.stderr }).toEqual({ status: 0, stderr: '' });
  expect(JSON.parse(readFileSync(join(copy.dir, 'clients/mobile/releases/releases.json'), 'utf8'))).toMatchObject({
    minimumVersion: '1.1.0',
  });
  git('add', '-A');
  git('commit', '-qm', 'retire 1.0');

  // 5. The removal now passes; 1.0 is told to upgrade, 1.1 works on.
  const late = await propose(removal);
  expect({ ok: late.ok, operations: step(late, 'operations').findings }).toEqual({ ok: true, operations: [] });
  merge();
  await until(async () => (await app1()).codes.includes('UPGRADE_REQUIRED'), { what: 'the raised minimum to apply' });
  const upgrade = await app1();
  expect(upgrade.user).toBeUndefined();
  expect(JSON.stringify(upgrade.error)).toContain('"minimumVersion":"1.1.0"');
  expect(await app11()).toMatchObject({ user: { id: 'usr_00001', createdAt: expect.any(String) }, codes: [] });
  const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as Record<string, unknown>;
  expect(ready.releases).toEqual({ served: ['1.1.0'], minimumAppVersion: '1.1.0', invalidOperations: 0 });
}, 600_000);
