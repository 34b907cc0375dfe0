/**
 * `npm run schema:check -- [--base <git ref | dir>] [--subgraph <name>] [--skip <step>] [--json]`
 *
 * What a platform team wants to know before a subgraph change merges, offline, with no
 * registry: does it compose, are the generated artifacts fresh, what does it break for which
 * client and which of their operations, do the operations still cost their budgets, and does
 * the SDL follow the team's rules. Exits 1 when any step fails, 2 on bad usage.
 */
import { parse } from 'graphql';
import { parseCommandLine, runCommand, usageError } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { readOperations } from './budgets.js';
import { REPO_ROOT, type CompositionSuccess, type composeAll } from './compose.js';
import { checkBreaking, type ParsedOperation } from './schema-check/breaking.js';
import { checkBudgets } from './schema-check/budgets.js';
import { checkComposition } from './schema-check/composition.js';
import { checkFreshness } from './schema-check/freshness.js';
import { checkLint } from './schema-check/lint.js';
import { checkOperations } from './schema-check/operations.js';
import { releasedOperations } from './schema-check/releases.js';
import {
  STEPS,
  printReport,
  type CheckOptions,
  type CheckReport,
  type Finding,
  type SchemaChange,
  type Step,
  type StepReport,
} from './schema-check/report.js';
import { asError, messageOf } from '../kit/process/caught.js';

export { generatedArtifacts } from './schema-check/freshness.js';
export type { CheckReport } from './schema-check/report.js';

/** Runs the steps in order (scripts/schema-check/, one file each); a step that needs composition is skipped without it. */
export async function runSchemaCheck(options: CheckOptions = {}): Promise<CheckReport> {
  const root = options.root ?? REPO_ROOT;
  const skip = new Set(options.skip ?? []);
  const steps: StepReport[] = [];
  let changes: SchemaChange[] = [];
  let baseDescription = 'none';

  const run = async (step: Step, body: () => Promise<{ summary: string; findings: Finding[] }>, blockedBy?: string) => {
    const started = performance.now();
    if (skip.has(step) || blockedBy) {
      steps.push({ step, status: 'skipped', summary: blockedBy ?? 'skipped on request', findings: [], ms: 0 });
      return;
    }
    try {
      const { summary, findings } = await body();
      const failed = findings.some((f) => f.level === 'error');
      steps.push({ step, status: failed ? 'failed' : 'passed', summary, findings, ms: Math.round(performance.now() - started) });
    } catch (error) {
      steps.push({
        step,
        status: 'failed',
        summary: 'could not run',
        findings: [{ level: 'error', message: messageOf(error) }],
        ms: Math.round(performance.now() - started),
      });
    }
  };

  let composed: ReturnType<typeof composeAll> = { ok: false, target: 'supergraph', errors: [] };
  await run('composition', async () => {
    const result = checkComposition(root);
    composed = result.composed;
    return result;
  });
  const success = () => composed as CompositionSuccess;
  const notComposed = composed.ok ? undefined : 'skipped: the subgraphs do not compose';

  await run('freshness', () => checkFreshness(root, success()), notComposed);

  // The client operations (scripts/budgets.ts reads them, budget lines included); a file that
  // cannot be read fails the steps that need it, not the whole check.
  let parsed: ParsedOperation[] | Error;
  try {
    parsed = [
      ...readOperations(root).map((op) => ({ client: op.client, name: op.name, document: parse(op.document) })),
      ...releasedOperations(root),
    ];
  } catch (error) {
    parsed = asError(error);
  }
  const operations = () => {
    if (parsed instanceof Error) throw parsed;
    return parsed;
  };
  await run(
    'breaking',
    async () => {
      const result = await checkBreaking(root, options.base, success(), operations);
      baseDescription = result.base;
      changes = result.changes;
      return result;
    },
    notComposed,
  );
  await run('operations', async () => checkOperations(success(), operations(), changes), notComposed);
  await run('budgets', () => checkBudgets(root), notComposed);
  await run('lint', async () => checkLint(root, options.subgraph));

  return { ok: steps.every((s) => s.status !== 'failed'), base: baseDescription, steps, changes };
}

if (isMainModule(import.meta.url)) {
  const usage = `Usage: npm run schema:check -- [--base <git ref | dir>] [--subgraph ${SUBGRAPHS.map((s) => s.name).join('|')}] [--skip ${STEPS.join('|')}] [--json]`;
  await runCommand('schema:check', async () => {
    const { values } = parseCommandLine(
      {
        options: {
          base: { type: 'string' },
          subgraph: { type: 'string' },
          skip: { type: 'string', multiple: true },
          json: { type: 'boolean', default: false },
        },
      },
      usage,
    );
    const skip = values.skip?.map((step) => STEPS.find((known) => known === step) ?? usageError(`unknown step ${step}\n${usage}`));
    if (values.subgraph && !SUBGRAPHS.some((s) => s.name === values.subgraph)) usageError(`unknown subgraph ${values.subgraph}\n${usage}`);
    const report = await runSchemaCheck({ base: values.base, subgraph: values.subgraph, skip });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : printReport(report));
    process.exit(report.ok ? 0 : 1);
  });
}
