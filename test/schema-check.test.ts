/**
 * `npm run schema:check` on fixture changes, each applied to a temporary copy of the
 * repository's schema sources, with the verdict a platform team should get. The base is the
 * repository's committed API schemas; artifacts are regenerated in the copy, as a developer
 * would, unless the fixture is about stale artifacts.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, test } from '@jest/globals';
import { REPO_ROOT, composeAll, type CompositionSuccess } from '../scripts/compose.js';
import { readOperations } from '../scripts/budgets.js';
import { generatedArtifacts, runSchemaCheck, type CheckReport } from '../scripts/schema-check.js';

/** The web operations whose text matches `pattern`, as the check names them (`web/Dashboard`). */
const webOperationsUsing = (pattern: RegExp) =>
  readOperations(REPO_ROOT)
    .filter((o) => o.client === 'web' && pattern.test(o.document.replace(/^#.*$/gm, '')))
    .map((o) => `web/${o.name}`)
    .sort();

const copies: string[] = [];
afterAll(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const BASE = fileURLToPath(new URL('schema/', REPO_ROOT));

/** A copy of what the check reads: SDLs, generated files, client operations, configs. */
function copyRepository(): URL {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-schema-check-'));
  copies.push(dir);
  for (const path of ['subgraphs', 'schema', 'clients']) {
    cpSync(fileURLToPath(new URL(path, REPO_ROOT)), join(dir, path), {
      recursive: true,
      filter: (src) => !src.endsWith('.ts') || src.includes('__generated__'),
    });
  }
  return pathToFileURL(`${dir}/`);
}

function edit(root: URL, file: string, from: string, to: string) {
  const path = new URL(file, root);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  writeFileSync(path, text.replace(from, to));
}

/** What `npm run generate` would write in the copy: the schemas first, as codegen reads them. */
async function regenerate(root: URL) {
  const composed = composeAll(root);
  if (!composed.ok) return;
  for (let pass = 0; pass < 2; pass++) {
    const { artifacts } = await generatedArtifacts(root, composed as CompositionSuccess);
    for (const [file, { content }] of artifacts) {
      mkdirSync(new URL('.', new URL(file, root)), { recursive: true });
      writeFileSync(new URL(file, root), content);
    }
  }
}

async function check(change: (root: URL) => void, options: { regenerate?: boolean } = {}): Promise<CheckReport> {
  const root = copyRepository();
  change(root);
  if (options.regenerate !== false) await regenerate(root);
  return runSchemaCheck({ root, base: BASE, skip: ['budgets'] });
}
const step = (report: CheckReport, name: string) => report.steps.find((s) => s.step === name)!;
const messages = (report: CheckReport, name: string) => step(report, name).findings.map((f) => f.message);

/** Mobile release 0.9.0 in a copy: one operation, on EmailMessage.clicks, that no current operation uses. */
function releaseEngagement(root: URL) {
  const engagement =
    'query Engagement($userId: ID!) {\n  user(id: $userId) {\n    emailMessages(first: 3) {\n      id\n      clicks\n    }\n  }\n}';
  const operation = { id: createHash('sha256').update(engagement).digest('hex'), name: 'Engagement', type: 'query', body: engagement };
  writeFileSync(
    new URL('clients/mobile/releases/0.9.0.json', root),
    JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [operation] }),
  );
}

describe('schema:check verdicts', () => {
  test('the repository as it is passes', async () => {
    const report = await runSchemaCheck({ base: BASE, skip: ['budgets'] });
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['composition', 'passed'],
      ['freshness', 'passed'],
      ['breaking', 'passed'],
      ['operations', 'passed'],
      ['budgets', 'skipped'],
      ['lint', 'passed'],
    ]);
    expect(report.changes).toEqual([]);
  });

  test('a field Dashboard uses, removed: BREAKING, naming the operations it breaks', async () => {
    const report = await check((root) =>
      edit(
        root,
        'subgraphs/storage/schema.graphql',
        '  "Total size of the user\'s files in bytes; null when storage cannot be reached."\n  storageUsedBytes: Float @cacheControl(maxAge: 30, scope: PRIVATE)\n',
        '',
      ),
    );
    expect(report.ok).toBe(false);
    expect(report.changes).toContainEqual(
      expect.objectContaining({
        client: 'web',
        level: 'BREAKING',
        type: 'FIELD_REMOVED',
        path: 'User.storageUsedBytes',
        operations: webOperationsUsing(/\bstorageUsedBytes\b/),
      }),
    );
    expect(messages(report, 'breaking')).toContainEqual(
      expect.stringContaining(`(used by ${webOperationsUsing(/\bstorageUsedBytes\b/).join(', ')})`),
    );
    expect(messages(report, 'operations')).toContainEqual(
      expect.stringMatching(
        /^web\/Dashboard: Cannot query field "storageUsedBytes" on type "User"\. \(broken by: Field 'storageUsedBytes' was removed/,
      ),
    );
  });

  test('a required argument added: BREAKING', async () => {
    const report = await check((root) =>
      edit(root, 'subgraphs/accounts/schema.graphql', 'user(id: ID!): User', 'user(id: ID!, tenant: ID!): User'),
    );
    expect(report.changes).toContainEqual(
      expect.objectContaining({ client: 'web', level: 'BREAKING', path: 'Query.user.tenant', operations: webOperationsUsing(/\buser\(/) }),
    );
    expect(step(report, 'breaking').status).toBe('failed');
  });

  test('a field type changed: BREAKING', async () => {
    const report = await check((root) =>
      edit(root, 'subgraphs/accounts/schema.graphql', '  name: String! @tag(name: "mobile")', '  name: Int! @tag(name: "mobile")'),
    );
    expect(report.changes).toContainEqual(
      expect.objectContaining({
        client: 'mobile',
        level: 'BREAKING',
        type: 'FIELD_TYPE_CHANGED',
        path: 'User.name',
        operations: ['mobile/Home'],
      }),
    );
    expect(report.ok).toBe(false);
  });

  test('an enum value added: DANGEROUS, reported, passes', async () => {
    const report = await check((root) =>
      edit(root, 'subgraphs/email/schema.graphql', '  NOT_DELIVERED\n', '  NOT_DELIVERED\n  DEFERRED\n'),
    );
    expect(report.changes).toContainEqual(
      expect.objectContaining({ level: 'DANGEROUS', type: 'ENUM_VALUE_ADDED', path: 'EmailMessageStatus.DEFERRED' }),
    );
    expect(messages(report, 'breaking')).toContainEqual(expect.stringMatching(/^DANGEROUS for web: Enum value 'DEFERRED' was added/));
    expect(report.ok).toBe(true);
  });

  test('a field added: SAFE, passes', async () => {
    const report = await check((root) =>
      edit(
        root,
        'subgraphs/accounts/schema.graphql',
        '  "Display name."\n',
        '  "Nickname, if the user chose one."\n  nickname: String\n  "Display name."\n',
      ),
    );
    expect(report.changes).toContainEqual(
      expect.objectContaining({ client: 'web', level: 'SAFE', type: 'FIELD_ADDED', path: 'User.nickname' }),
    );
    expect(report.ok).toBe(true);
  });

  test('two subgraphs defining a non-shareable field: a composition error naming both and the field', async () => {
    const report = await check((root) =>
      edit(root, 'subgraphs/storage/schema.graphql', '  id: ID!\n', '  id: ID!\n  "Display name."\n  name: String!\n'),
    );
    expect(step(report, 'composition').status).toBe('failed');
    expect(messages(report, 'composition')).toContainEqual(
      expect.stringMatching(/^INVALID_FIELD_SHARING \(subgraph accounts, storage at User\.name\) in the supergraph: /),
    );
    expect(step(report, 'breaking').status).toBe('skipped');
  });

  test('a mobile operation using a web-only field fails the operations step', async () => {
    const report = await check((root) => edit(root, 'clients/mobile/Home.graphql', '    name\n', '    name\n    storageUsedBytes\n'), {
      regenerate: false,
    });
    expect(messages(report, 'operations')).toEqual(['mobile/Home: Cannot query field "storageUsedBytes" on type "User".']);
    expect(report.ok).toBe(false);
  });

  test('a field only an app release still uses, removed: fails naming the release, the operation and the field, with the ways out', async () => {
    const report = await check((root) => {
      releaseEngagement(root);
      writeFileSync(new URL('clients/mobile/releases/releases.json', root), JSON.stringify({ minimumVersion: '0.9.0' }));
      edit(root, 'subgraphs/email/schema.graphql', '  clicks: Int!\n', '');
    });
    expect(report.ok).toBe(false);
    expect(messages(report, 'breaking')).toContainEqual(expect.stringContaining('(used by mobile/Engagement (release 0.9.0))'));
    const invalid = step(report, 'operations').findings;
    expect(invalid.map((f) => f.message)).toEqual([
      expect.stringMatching(/^mobile\/Engagement \(release 0\.9\.0\): Cannot query field "clicks" on type "EmailMessage"\./),
    ]);
    expect(invalid[0]!.fix).toMatch(
      /deprecate it instead\), or retire 0\.9\.0: raise minimumVersion in clients\/mobile\/releases\/releases\.json/,
    );
  });

  test('the same removal passes once that release is retired (below the minimum)', async () => {
    const report = await check((root) => {
      releaseEngagement(root);
      // releases.json as committed: the minimum is 1.0.0, so 0.9.0 is retired.
      edit(root, 'subgraphs/email/schema.graphql', '  clicks: Int!\n', '');
    });
    expect(step(report, 'operations').status).toBe('passed');
    expect(messages(report, 'breaking').join('\n')).not.toContain('release 0.9.0');
  });

  test('a field removed from a safelisted client that none of its operations or supported releases uses: a warning, it breaks none of its apps', async () => {
    const report = await check((root) =>
      edit(
        root,
        'subgraphs/accounts/schema.graphql',
        '  me: User @tag(name: "mobile") @cacheControl(maxAge: 60, scope: PRIVATE)\n',
        '  me: User @cacheControl(maxAge: 60, scope: PRIVATE)\n',
      ),
    );
    expect(step(report, 'breaking')).toMatchObject({
      status: 'passed',
      findings: [
        {
          level: 'warning',
          message:
            "BREAKING for mobile, but no operation it can run uses it (its current operations and supported releases): Field 'me' was removed from object type 'Query'",
        },
      ],
    });
    expect(report.ok).toBe(true);
  });

  test('a stale supergraph fails freshness with the command that regenerates it', async () => {
    const report = await check(
      (root) => edit(root, 'subgraphs/accounts/schema.graphql', '"A person with an account."', '"A person with an account here."'),
      { regenerate: false },
    );
    expect(step(report, 'freshness').findings).toContainEqual({
      level: 'error',
      message: 'schema/supergraph.graphql is stale',
      fix: 'npm run compose',
    });
    expect(report.ok).toBe(false);
  });

  test('an acknowledged breaking change passes, with its reason in the report', async () => {
    const report = await check((root) => {
      edit(root, 'subgraphs/accounts/schema.graphql', '  name: String! @tag(name: "mobile")', '  name: Int! @tag(name: "mobile")');
      writeFileSync(
        new URL('schema/acknowledged-changes.json', root),
        JSON.stringify([{ type: 'FIELD_TYPE_CHANGED', path: 'User.name', reason: 'Every client moved to displayName in release 42.' }]),
      );
    });
    expect(
      report.changes
        .filter((c) => c.level === 'BREAKING')
        .every((c) => c.acknowledged === 'Every client moved to displayName in release 42.'),
    ).toBe(true);
    expect(step(report, 'breaking').status).toBe('passed');
  });
});
