/**
 * `npm run new:subgraph -- <name>` as a new contributor runs it: in a copy of the repository,
 * the scaffold, then `npm run generate`; lint and types pass, the scaffolded test serves the new
 * field through the web gateway, the budgets hold, `npm run schema:check` passes and the
 * Kubernetes manifests render with the new subgraph.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { REPO } from '../../scripts/programs.js';
import { copyRepository, type RepositoryCopy } from './repository-copy.js';
import { envName } from '../../kit/process/env-name.js';

const HAS_KUBECTL = spawnSync('kubectl', ['version', '--client']).status === 0;
let copy: RepositoryCopy;
/**
 * A name no one would give a subgraph of their own: the README's example, `billing`, may well
 * be in the repository already when someone follows it and then runs the tests.
 */
const NAME = 'scaffoldprobe';
/** The operation the scaffold writes for it (clients/web/<Name>Items.graphql). */
const OPERATION = `${NAME[0]!.toUpperCase()}${NAME.slice(1)}Items`;
const npm = (args: string[], timeoutMs?: number) => copy.npm(args, timeoutMs);

beforeAll(() => {
  copy = copyRepository('patchbay-new-subgraph-');
});
afterAll(() => copy?.remove());

describe('npm run new:subgraph', () => {
  test('refuses a bad or taken name, saying why', async () => {
    for (const [args, reason] of [
      [[], /Usage: npm run new:subgraph -- <name>/],
      [['Billing'], /lower case letters and digits/],
      [['accounts'], /"accounts" is taken/],
      [['sendgrid'], /"sendgrid" is taken/],
    ] as const) {
      const run = await npm(['new:subgraph', '--', ...args]);
      expect({ args, status: run.status, stderr: run.stderr }).toEqual({ args, status: 2, stderr: expect.stringMatching(reason) });
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  test('scaffolds a subgraph that composes, type-checks, lints, serves its field through the web gateway and passes schema:check', async () => {
    const scaffold = await npm(['new:subgraph', '--', NAME]);
    expect(scaffold.stderr).toBe('');
    expect(scaffold.status).toBe(0);
    const written = scaffold.stdout.split('\n').filter((line) => /^ {2}\S+$/.test(line));
    const lines = written.reduce((sum, line) => sum + readFileSync(join(copy.dir, line.trim()), 'utf8').split('\n').length, 0);
    console.log(`new:subgraph ${NAME} wrote ${written.length} files (${lines} lines in all, every one of them generated)`);

    const generate = await npm(['generate']);
    expect(generate.status).toBe(0);
    expect(readFileSync(join(copy.dir, 'schema/supergraph.graphql'), 'utf8')).toContain(`${NAME}Items`);

    const lint = await npm(['lint']);
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    const types = await copy.tsc();
    expect(types.stdout).toBe('');
    expect(types.status).toBe(0);

    // The scaffolded test runs BillingItems through the web gateway; the budgets now include it.
    const jest = await copy.jest([`test/${NAME}.test.ts`, 'test/budgets.test.ts']);
    expect(jest.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(jest.stderr).toContain(`${OPERATION} costs exactly its budget`);
    expect(jest.status).toBe(0);

    const check = await npm(['schema:check', '--', '--base', join(REPO, 'schema')], 300_000);
    expect(check.stdout).toContain('5 subgraphs compose');
    expect(check.stdout).toMatch(/PASSED\n$/);
    expect(check.status).toBe(0);

    if (HAS_KUBECTL) {
      const rendered = spawnSync('kubectl', ['kustomize', join(copy.dir, 'deploy/kubernetes/overlays/production')], { encoding: 'utf8' });
      expect(rendered.status).toBe(0);
      expect(rendered.stdout).toContain(`name: subgraph-${NAME}`);
      expect(rendered.stdout).toMatch(new RegExp(`${envName(NAME, 'SUBGRAPH_URL')}: http://subgraph-${NAME}:\\d+/graphql`));
      expect(rendered.stdout).toContain(`${envName(NAME, 'API_URL')}: https://${NAME}.example.com`);
    }
  }, 900_000);
});
