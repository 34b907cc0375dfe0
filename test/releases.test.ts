/**
 * Releases: every supported app version's operations are served by id beside the current
 * ones; an app of a known release that runs another release's id is served and counted; an
 * app older than the minimum is told to upgrade before anything runs; a release that is not
 * what it claims fails the gateway's start; `npm run release` freezes the current operations.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { mobile } from '../gateway/clients/mobile.js';
import { startGateway } from '../gateway/index.js';
import { writeRelease } from '../scripts/release.js';
import { retire } from '../scripts/release-retire.js';
import { releaseReport, requestsFromSnapshot } from '../scripts/releases.js';
import { runToEnd, tsxProgram, bareEnv } from '../scripts/programs.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { as, until } from './helpers.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** What the 1.0 app asked for on its home screen, before Home grew. */
const HOME_1_0 = 'query Home($userId: ID!) {\n  user(id: $userId) {\n    id\n    name\n  }\n}';
/** A 1.0 operation on a field the mobile contract no longer shows. */
const PROFILE_1_0 = 'query Profile {\n  me {\n    id\n    createdAt\n  }\n}';
const manifestOf = (operations: Array<{ name: string; body: string }>) =>
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: operations.map(({ name, body }) => ({ id: sha256(body), name, type: 'query', body })),
  });

let dir: string;
let stack: Stack;
let headers: Record<string, string>;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'patchbay-releases-'));
  writeFileSync(
    join(dir, '1.0.0.json'),
    manifestOf([
      { name: 'Home', body: HOME_1_0 },
      { name: 'Profile', body: PROFILE_1_0 },
    ]),
  );
  writeFileSync(join(dir, '1.1.0.json'), readFileSync(persistedManifestFile(mobile), 'utf8'));
  writeFileSync(join(dir, 'releases.json'), JSON.stringify({ minimumVersion: '1.0.0' }));
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent', MOBILE_RELEASES_PATH: dir } });
  headers = { 'content-type': 'application/json', ...(await as('usr_00001')) };
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (url: string, id: string, appVersion?: string) => {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { ...headers, ...(appVersion ? { 'x-app-version': appVersion } : {}) },
    body: JSON.stringify({ variables: { userId: 'usr_00001' }, extensions: { persistedQuery: { version: 1, sha256Hash: id } } }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> },
  };
};
const mismatches = async (appVersion: string) => {
  const text = await (await fetch(`${stack.gateways.mobile!.metricsUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('patchbay_gateway_release_mismatches_total{') && l.includes(`app_version="${appVersion}"`));
  return Number(line?.split(' ').at(-1) ?? 0);
};

describe('a safelisted gateway serves every supported release', () => {
  test("the 1.0 app's Home runs by its own id after the operation moved on", async () => {
    const name = stack.sandbox.seed.users[0]!.name;
    expect(await post(stack.gateways.mobile!.url, sha256(HOME_1_0), '1.0.0')).toEqual({
      status: 200,
      body: { data: { user: { id: 'usr_00001', name } } },
    });
    expect(await mismatches('1.0.0')).toBe(0);
  });

  test('a served release operation the schema no longer allows is known at start: /readyz and a gauge say so', async () => {
    const ready = (await (await fetch(`${stack.gateways.mobile!.url}/readyz`)).json()) as Record<string, unknown>;
    expect(ready.releases).toEqual({ served: ['1.0.0', '1.1.0'], minimumAppVersion: '1.0.0', invalidOperations: 1 });
    const metrics = await (await fetch(`${stack.gateways.mobile!.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('patchbay_gateway_release_operations_invalid{client="mobile",service="gateway-mobile"} 1');
  });

  test("an app of a known release running another release's id is served, and counted", async () => {
    expect((await post(stack.gateways.mobile!.url, sha256(HOME_1_0), '1.1.0')).status).toBe(200);
    expect(await mismatches('1.1.0')).toBe(1);
  });

  test('an app older than the minimum is told to upgrade, with the minimum, before anything runs', async () => {
    stack.sandbox.resetCalls();
    expect(await post(stack.gateways.mobile!.url, sha256(HOME_1_0), '0.9.3 (812)')).toEqual({
      status: 200,
      body: {
        errors: [
          {
            message: 'This app version (0.9.3) is no longer supported: update to 1.0.0 or later',
            extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '1.0.0', appVersion: '0.9.3' },
          },
        ],
      },
    });
    expect(Object.values(stack.sandbox.calls()).flatMap((calls) => Object.values(calls))).toEqual([]);
  });

  test('MOBILE_MIN_APP_VERSION raises the minimum for an emergency: older releases are neither accepted nor served', async () => {
    const gateway = await startGateway(mobile, {
      ...stack.subgraphUrls,
      LOG_LEVEL: 'silent',
      MOBILE_GATEWAY_PORT: '0',
      MOBILE_METRICS_PORT: '0',
      MOBILE_RELEASES_PATH: dir,
      MOBILE_MIN_APP_VERSION: '1.1.0',
    });
    try {
      expect((await post(gateway.url, sha256(HOME_1_0), '1.0.0')).body.errors?.[0]?.extensions).toEqual({
        code: 'UPGRADE_REQUIRED',
        minimumVersion: '1.1.0',
        appVersion: '1.0.0',
      });
      expect((await post(gateway.url, sha256(HOME_1_0))).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    } finally {
      await gateway.close();
    }
  });

  test('a release whose id is not the hash of its text fails the start, naming the file', async () => {
    const forged = mkdtempSync(join(tmpdir(), 'patchbay-releases-forged-'));
    try {
      const text = manifestOf([{ name: 'Home', body: HOME_1_0 }]).replace(sha256(HOME_1_0), sha256('query Other { me { id } }'));
      writeFileSync(join(forged, '1.0.0.json'), text);
      await expect(startGateway(mobile, { LOG_LEVEL: 'silent', MOBILE_GATEWAY_PORT: '0', MOBILE_RELEASES_PATH: forged })).rejects.toThrow(
        `${join(forged, '1.0.0.json')}: Home's id is not the hash of its text`,
      );
    } finally {
      rmSync(forged, { recursive: true, force: true });
    }
  });
});

/**
 * A directory as the kubelet keeps a mounted ConfigMap: each version of its keys in a
 * directory of its own, `..data` a symlink to the current one, each key a symlink through
 * `..data`; an update writes a new version and swaps `..data` in one rename.
 */
function configMapVolume(dir: string) {
  let generation = 0;
  const keys = new Set<string>();
  return {
    update(files: Record<string, string>) {
      const version = `..${++generation}`;
      mkdirSync(join(dir, version));
      for (const [key, text] of Object.entries(files)) writeFileSync(join(dir, version, key), text);
      symlinkSync(version, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      for (const key of Object.keys(files)) if (!keys.has(key)) symlinkSync(join('..data', key), join(dir, key));
      for (const key of keys) if (!(key in files)) unlinkSync(join(dir, key));
      keys.clear();
      for (const key of Object.keys(files)) keys.add(key);
    },
  };
}

describe('releases are data, reloaded when they change (a mounted ConfigMap)', () => {
  test('a new release is served, a raised minimum applies, and a change that does not load is refused while the loaded releases keep serving', async () => {
    const mounted = mkdtempSync(join(tmpdir(), 'patchbay-releases-configmap-'));
    const volume = configMapVolume(mounted);
    const release1 = manifestOf([{ name: 'Home', body: HOME_1_0 }]);
    const HOME_1_2 = 'query Home($userId: ID!) {\n  user(id: $userId) {\n    id\n  }\n}';
    const release2 = manifestOf([{ name: 'Home', body: HOME_1_2 }]);
    volume.update({ '1.0.0.json': release1, 'releases.json': JSON.stringify({ minimumVersion: '1.0.0' }) });
    const gateway = await startGateway(mobile, {
      ...stack.subgraphUrls,
      LOG_LEVEL: 'silent',
      MOBILE_GATEWAY_PORT: '0',
      MOBILE_METRICS_PORT: '0',
      MOBILE_RELEASES_PATH: mounted,
    });
    const code = async (id: string, appVersion: string) =>
      (await post(gateway.url, id, appVersion)).body.errors?.[0]?.extensions?.code ?? 'ok';
    const reloads = async (outcome: string) => {
      const text = await (await fetch(`${gateway.metricsUrl}/metrics`)).text();
      return Number(
        new RegExp(`^patchbay_gateway_releases_reloads_total\\{outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
      );
    };
    try {
      expect(await code(sha256(HOME_1_2), '1.2.0')).toBe('PERSISTED_QUERY_NOT_IN_LIST');

      volume.update({ '1.0.0.json': release1, '1.2.0.json': release2, 'releases.json': JSON.stringify({ minimumVersion: '1.0.0' }) });
      await until(async () => (await code(sha256(HOME_1_2), '1.2.0')) === 'ok', { what: 'release 1.2.0 to be served' });
      expect(await code(sha256(HOME_1_0), '1.0.0')).toBe('ok');

      const forged = release2.replace(sha256(HOME_1_2), sha256('query Other { me { id } }'));
      volume.update({
        '1.0.0.json': release1,
        '1.2.0.json': release2,
        '1.3.0.json': forged,
        'releases.json': JSON.stringify({ minimumVersion: '1.0.0' }),
      });
      await until(async () => (await reloads('refused')) === 1, { what: 'the forged release to be refused' });
      expect([await code(sha256(HOME_1_0), '1.0.0'), await code(sha256(HOME_1_2), '1.2.0')]).toEqual(['ok', 'ok']);

      volume.update({ '1.0.0.json': release1, '1.2.0.json': release2, 'releases.json': JSON.stringify({ minimumVersion: '1.2.0' }) });
      await until(async () => (await code(sha256(HOME_1_0), '1.0.0')) === 'UPGRADE_REQUIRED', { what: 'the raised minimum to apply' });
      expect(await code(sha256(HOME_1_2), '1.2.0')).toBe('ok');
      const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as Record<string, unknown>;
      expect(ready.releases).toEqual({ served: ['1.2.0'], minimumAppVersion: '1.2.0', invalidOperations: 0 });
      expect(await reloads('applied')).toBe(2);
    } finally {
      await gateway.close();
      rmSync(mounted, { recursive: true, force: true });
    }
  });
});

describe('an operation older apps run in a way the schema no longer takes (CreateUploadUrlInput.size)', () => {
  test('apps before its minimum get UPGRADE_REQUIRED for that operation alone; the rest of the app works', async () => {
    const old = mkdtempSync(join(tmpdir(), 'patchbay-releases-size-'));
    // 0.9.0 sent CreateUploadUrl without input.size: the same text, other variables.
    writeFileSync(join(old, '0.9.0.json'), readFileSync(persistedManifestFile(mobile), 'utf8'));
    writeFileSync(
      join(old, 'releases.json'),
      JSON.stringify({
        minimumVersion: '0.9.0',
        operations: { CreateUploadUrl: { minimumVersion: '1.0.0', reason: 'uploads declare their size (CreateUploadUrlInput.size)' } },
      }),
    );
    const gateway = await startGateway(mobile, {
      ...stack.subgraphUrls,
      LOG_LEVEL: 'silent',
      MOBILE_GATEWAY_PORT: '0',
      MOBILE_METRICS_PORT: '0',
      MOBILE_RELEASES_PATH: old,
    });
    try {
      const upload = async (appVersion: string | undefined, size?: number) => {
        const response = await fetch(`${gateway.url}/graphql`, {
          method: 'POST',
          headers: { ...headers, ...(appVersion ? { 'x-app-version': appVersion } : {}) },
          body: JSON.stringify({
            variables: { input: { userId: 'usr_00001', fileName: 'photo.png', contentType: 'image/png', ...(size ? { size } : {}) } },
            extensions: persistedQueryExtension(persistedManifestFile(mobile), 'CreateUploadUrl'),
          }),
        });
        return {
          status: response.status,
          body: (await response.json()) as {
            data?: { createUploadUrl: { method: string } };
            errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
          },
        };
      };
      expect(await upload('0.9.0')).toEqual({
        status: 200,
        body: {
          errors: [
            {
              message: 'CreateUploadUrl needs app version 1.0.0 or later: uploads declare their size (CreateUploadUrlInput.size)',
              extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '1.0.0', appVersion: '0.9.0', operation: 'CreateUploadUrl' },
            },
          ],
        },
      });
      expect(
        (await post(gateway.url, persistedQueryExtension(persistedManifestFile(mobile), 'Home').persistedQuery.sha256Hash, '0.9.0')).status,
      ).toBe(200);
      expect((await upload('1.0.0', 204_800)).body.data?.createUploadUrl.method).toBe('PUT');
      // An app that names no version cannot be told apart: it meets the schema's own refusal.
      expect((await upload(undefined)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await gateway.close();
      rmSync(old, { recursive: true, force: true });
    }
  });
});

describe('usage per release', () => {
  test('requests are counted by app version and operation; a release under the threshold, not the newest, is retirable', async () => {
    const snapshot = await (await fetch(`${stack.gateways.mobile!.metricsUrl}/metrics`)).text();
    expect(snapshot).toContain(
      'patchbay_gateway_app_version_requests_total{client="mobile",app_version="1.0.0",operation="Home",service="gateway-mobile"} 1',
    );
    // The two Home requests above; the refused 0.9.3 one never reached GraphQL.
    const requests = requestsFromSnapshot(snapshot, 'mobile');
    expect(Object.fromEntries(requests)).toEqual({ '1.0.0': 1, '1.1.0': 1 });
    expect(releaseReport(dir, requests, 60)).toEqual([
      { version: '1.0.0', supported: true, requests: 1, share: 50, retirable: true },
      { version: '1.1.0', supported: true, requests: 1, share: 50, retirable: false },
    ]);
    expect(releaseReport(dir, requests, 1).map((release) => release.retirable)).toEqual([false, false]);
  });

  test('npm run releases prints each committed release with its traffic from a snapshot', async () => {
    const file = join(dir, 'metrics.txt');
    writeFileSync(file, 'patchbay_gateway_app_version_requests_total{client="mobile",app_version="1.0.0",operation="Home"} 30\n');
    const run = await runToEnd(tsxProgram('scripts/releases.ts', 'mobile', '--snapshot', file), bareEnv());
    expect(run.stderr).toBe('');
    expect(run.stdout.split('\n')).toEqual([
      'mobile releases (requests in the snapshot):',
      '1.0.0      supported         30 100.00 %  ',
      '',
    ]);
  });
});

describe('npm run releases -- <client> --prometheus', () => {
  test("reads each release's requests over the window from Prometheus; a Prometheus that fails is said plainly", async () => {
    const queries: string[] = [];
    let answer = 200;
    const prometheus = createServer((req, res) => {
      const url = new URL(req.url!, 'http://localhost');
      if (url.pathname !== '/prom/api/v1/query') return void res.writeHead(404).end();
      queries.push(url.searchParams.get('query')!);
      const now = Date.now() / 1000;
      res.writeHead(answer, { 'content-type': 'application/json' }).end(
        answer === 200
          ? JSON.stringify({
              status: 'success',
              data: {
                resultType: 'vector',
                result: [
                  { metric: { app_version: '1.0.0' }, value: [now, '30'] },
                  { metric: { app_version: 'other' }, value: [now, '10'] },
                ],
              },
            })
          : '{"status":"error","error":"internal: do not show this"}',
      );
    });
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}/prom`;
    try {
      const run = await runToEnd(tsxProgram('scripts/releases.ts', 'mobile', '--prometheus', url, '--window', '30d'), bareEnv());
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(queries).toEqual(['sum by (app_version) (increase(patchbay_gateway_app_version_requests_total{client="mobile"}[30d]))']);
      expect(run.stdout).toMatch(/^1\.0\.0 +supported +30 +75\.00 %/m);

      answer = 500;
      const failed = await runToEnd(tsxProgram('scripts/releases.ts', 'mobile', '--prometheus', url), bareEnv());
      expect({ status: failed.status, stderr: failed.stderr }).toEqual({
        status: 1,
        stderr: 'releases failed: Upstream releases.prometheus is unavailable\n',
      });
    } finally {
      prometheus.close();
    }
  });
});

describe('npm run release:retire', () => {
  test('refuses a release that still has traffic, the newest, or one it does not know; raises the minimum past one that has none', () => {
    const releases = mkdtempSync(join(tmpdir(), 'patchbay-retire-'));
    try {
      for (const version of ['1.0.0', '1.1.0', '1.2.0']) writeFileSync(join(releases, `${version}.json`), manifestOf([]));
      const busy = new Map([
        ['1.0.0', 30],
        ['1.1.0', 10],
        ['1.2.0', 960],
      ]);
      expect(() => retire(releases, '1.0.0', busy, { retirableBelow: 1 })).toThrow(
        '1.0.0 still carries 3.00 % of the requests (retirable below 1 %): wait, or --force --reason "..."',
      );
      expect(() => retire(releases, '1.2.0', busy, { retirableBelow: 5 })).toThrow('1.2.0 is the newest release');
      expect(() => retire(releases, '0.9.0', busy, { retirableBelow: 5 })).toThrow('0.9.0 is no release here (1.0.0, 1.1.0, 1.2.0)');
      // Under 5 %: 1.0.0 goes, and the minimum is the next release.
      expect(retire(releases, '1.0.0', busy, { retirableBelow: 5 })).toEqual({ minimumVersion: '1.1.0' });
      expect(JSON.parse(readFileSync(join(releases, 'releases.json'), 'utf8'))).toEqual({ minimumVersion: '1.1.0' });
      expect(() => retire(releases, '1.0.0', busy, { retirableBelow: 5 })).toThrow('1.0.0 is retired already');
      // Forced, with its reason committed beside the minimum.
      const reason = 'security fix: 1.1 leaks tokens in logs';
      expect(retire(releases, '1.1.0', busy, { retirableBelow: 0.5, force: { reason } })).toEqual({ minimumVersion: '1.2.0' });
      expect(JSON.parse(readFileSync(join(releases, 'releases.json'), 'utf8'))).toEqual({
        minimumVersion: '1.2.0',
        forced: [{ version: '1.1.0', reason, share: 1 }],
      });
    } finally {
      rmSync(releases, { recursive: true, force: true });
    }
  });

  test('the command refuses --force without a reason, saying why', async () => {
    const run = await runToEnd(tsxProgram('scripts/release-retire.ts', 'mobile', '1.0.0', '--snapshot', '/dev/null', '--force'), bareEnv());
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(/--force needs --reason/) });
  });
});

describe('npm run release', () => {
  test("freezes the client's current operations, once", async () => {
    const out = mkdtempSync(join(tmpdir(), 'patchbay-release-'));
    try {
      const file = await writeRelease(mobile, '2.0.0', new URL('../', import.meta.url), out);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(readFileSync(persistedManifestFile(mobile), 'utf8')));
      await expect(writeRelease(mobile, '2.0.0', new URL('../', import.meta.url), out)).rejects.toThrow(/is released already/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('refuses a client or a version it does not know, saying why', async () => {
    for (const [args, reason] of [
      [['mobile'], /Usage: npm run release -- <client> <version>/],
      [['tablet', '1.0.0'], /"tablet" is no client/],
      [['mobile', '1.0'], /"1.0" is not a version like 1.4.0/],
    ] as const) {
      const run = await runToEnd(tsxProgram('scripts/release.ts', ...args), bareEnv());
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(reason) });
    }
  });
});
