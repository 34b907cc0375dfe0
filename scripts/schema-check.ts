/**
 * `npm run schema:check -- [--base <git ref | dir>] [--subgraph <name>] [--skip <step>] [--json]`
 *
 * What a platform team wants to know before a subgraph change merges, offline, with no
 * registry: does it compose, are the generated artifacts fresh, what does it break for which
 * client and which of their operations, do the operations still cost their budgets, and does
 * the SDL follow the team's rules. Exits 1 when any step fails, 2 on bad usage.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
import { generatePersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import {
  TypeInfo,
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  parse,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import { CLIENTS, SUPERGRAPH_FILE, apiSchemaFile, clientSupergraphFile } from '../gateway/clients/index.js';
import { parseCommandLine, runCommand, usageError } from '../kit/cli.js';
import { isMainModule } from '../kit/service.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { measureBudget, readOperations } from './budgets.js';
import { REPO_ROOT, composeAll, readSubgraphs, type CompositionSuccess } from './compose.js';
import { LINT_RULES, lintSubgraphs } from './schema-lint.js';

export const STEPS = ['composition', 'freshness', 'breaking', 'operations', 'budgets', 'lint'] as const;
export type Step = (typeof STEPS)[number];

export interface Finding {
  level: 'error' | 'warning' | 'info';
  message: string;
  /** The one command that fixes it, when there is one. */
  fix?: string;
}
export interface StepReport {
  step: Step;
  status: 'passed' | 'failed' | 'skipped';
  summary: string;
  findings: Finding[];
  ms: number;
}
export interface SchemaChange {
  client: string;
  level: 'BREAKING' | 'DANGEROUS' | 'SAFE';
  type: string;
  path?: string;
  message: string;
  /** The reason given in schema/acknowledged-changes.json, for an acknowledged BREAKING change. */
  acknowledged?: string;
  /** Client operations (client/Name) that use what changed. */
  operations: string[];
}
export interface CheckReport {
  ok: boolean;
  base: string;
  steps: StepReport[];
  changes: SchemaChange[];
}
export interface CheckOptions {
  /** The checkout to check; this repository by default. */
  root?: URL;
  /** A git ref, or a directory holding `<client>.graphql` files; the merge base with main by default. */
  base?: string;
  /** Limit the lint and the report to one subgraph (composition needs them all). */
  subgraph?: string;
  skip?: readonly Step[];
}

/** A committed acknowledgement lets a BREAKING change pass: it names the change and why. */
const Acknowledgements = z.array(
  z.object({
    client: z.string().optional(),
    type: z.string().min(1),
    path: z.string().min(1),
    reason: z.string().min(10, 'give a reason a reviewer can judge'),
  }),
);
export const ACKNOWLEDGEMENTS = 'schema/acknowledged-changes.json';

const repoPath = (file: URL) => relative(fileURLToPath(REPO_ROOT), fileURLToPath(file));
const read = (file: URL) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

/** What an operation touches: fields and arguments, and the enum and input types it reads or sends. */
function coordinatesOf(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const typeInfo = new TypeInfo(schema);
  const used = new Set<string>();
  const useType = (type: ReturnType<typeof getNamedType> | undefined | null) => {
    if (type && (isEnumType(type) || isInputObjectType(type))) used.add(type.name);
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field) used.add(`${parent.name}.${field.name}`);
        if (field) useType(getNamedType(field.type));
      },
      Argument(node) {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field) used.add(`${parent.name}.${field.name}.${node.name.value}`);
        useType(getNamedType(typeInfo.getInputType() ?? undefined));
      },
      VariableDefinition() {
        useType(getNamedType(typeInfo.getInputType() ?? undefined));
      },
    }),
  );
  return used;
}
const touches = (used: Set<string>, path: string | undefined) =>
  path !== undefined && [...used].some((c) => path === c || path.startsWith(`${c}.`));

function resolveBase(root: URL, base: string | undefined): { describe: string; schemaOf(client: string): string | undefined } {
  const dir = base && existsSync(resolve(base)) && statSync(resolve(base)).isDirectory() ? resolve(base) : undefined;
  if (dir) return { describe: `directory ${base}`, schemaOf: (client) => read(pathToFileURL(`${dir}/${client}.graphql`)) };
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', fileURLToPath(root), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let ref = base;
  if (!ref) {
    for (const candidate of ['main', 'origin/main']) {
      try {
        ref = git('merge-base', 'HEAD', candidate);
        break;
      } catch {
        // try the next
      }
    }
    if (!ref) throw new Error('no base to compare with: no main branch here; pass --base <git ref or directory>');
  }
  let commit: string;
  try {
    commit = git('rev-parse', '--short', `${ref}^{commit}`);
  } catch {
    throw new Error(`--base ${base}: neither a directory nor a git ref of this repository`);
  }
  return {
    describe: base ? `${base} (${commit})` : `merge base with main (${commit})`,
    schemaOf: (client) => {
      try {
        return git('show', `${ref}:${repoPath(apiSchemaFile(client))}`);
      } catch {
        return undefined; // a client the base did not have: everything is new
      }
    },
  };
}

function compositionFindings(result: ReturnType<typeof composeAll>): Finding[] {
  if (result.ok) return [];
  const names = SUBGRAPHS.map((s) => s.name);
  return result.errors.map((e) => {
    const subgraphs = names.filter((n) => e.message.includes(`"${n}"`) || e.message.includes(`[${n}]`));
    const coordinate = /"([A-Za-z_]\w*\.[A-Za-z_]\w*)"/.exec(e.message)?.[1];
    const where = [subgraphs.length ? `subgraph ${subgraphs.join(', ')}` : '', coordinate ? `at ${coordinate}` : '']
      .filter(Boolean)
      .join(' ');
    return { level: 'error', message: `${e.code}${where ? ` (${where})` : ''} in the ${result.target}: ${e.message}` };
  });
}

/**
 * Everything `npm run generate` writes, as the sources in `root` generate it now: repository
 * path -> content, with the command that writes each.
 */
export async function generatedArtifacts(
  root: URL,
  composed: CompositionSuccess,
): Promise<{ artifacts: Map<string, { content: string; command: string }>; failures: Finding[] }> {
  const artifacts = new Map<string, { content: string; command: string }>();
  const failures: Finding[] = [];
  artifacts.set(repoPath(SUPERGRAPH_FILE), { content: composed.supergraph, command: 'npm run compose' });
  for (const client of CLIENTS) {
    artifacts.set(repoPath(apiSchemaFile(client.name)), { content: composed.apiSchemas[client.name]!, command: 'npm run compose' });
    if (client.contract)
      artifacts.set(repoPath(clientSupergraphFile(client)), {
        content: composed.clientSupergraphs[client.name]!,
        command: 'npm run compose',
      });
  }
  const { config } = await loadCodegenConfig({ configFilePath: fileURLToPath(new URL('codegen.yml', root)) });
  try {
    const outputs = (await generate({ ...config, cwd: fileURLToPath(root), silent: true, verbose: false }, false)) as Array<{
      filename: string;
      content: string;
    }>;
    for (const output of outputs) artifacts.set(output.filename, { content: output.content, command: 'npm run codegen' });
  } catch (error) {
    // Codegen validates the client operations; the operations step says which and why.
    const first =
      String((error as Error).message)
        .split('\n')
        .find((line) => line.trim()) ?? 'failed';
    failures.push({
      level: 'error',
      message: `codegen output cannot be generated: ${first.trim()}`,
      fix: 'make the client operations valid (see the operations step), then npm run codegen',
    });
  }

  const configFile = new URL('persisted-query-manifest.config.json', root);
  const manifestConfig = JSON.parse(readFileSync(configFile, 'utf8')) as { documents: string[]; output: string };
  const manifest = await generatePersistedQueryManifest(
    { documents: manifestConfig.documents.map((d) => fileURLToPath(new URL(d, root))) },
    fileURLToPath(configFile),
  );
  artifacts.set(manifestConfig.output, { content: `${JSON.stringify(manifest, null, 2)}\n`, command: 'npm run persisted' });
  return { artifacts, failures };
}

async function freshnessFindings(root: URL, composed: CompositionSuccess): Promise<Finding[]> {
  const { artifacts, failures } = await generatedArtifacts(root, composed);
  const findings: Finding[] = [...failures];
  for (const [file, { content, command }] of artifacts) {
    const committed = read(new URL(file, root));
    // The manifest is compared as data: its generator's spacing is not part of the contract.
    const same = file.endsWith('.json')
      ? committed !== undefined && JSON.stringify(JSON.parse(committed)) === JSON.stringify(JSON.parse(content))
      : committed === content;
    if (!same) findings.push({ level: 'error', message: `${file} is stale`, fix: command });
  }
  return findings;
}

export async function runSchemaCheck(options: CheckOptions = {}): Promise<CheckReport> {
  const root = options.root ?? REPO_ROOT;
  const skip = new Set(options.skip ?? []);
  const steps: StepReport[] = [];
  const changes: SchemaChange[] = [];
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
        findings: [{ level: 'error', message: (error as Error).message }],
        ms: Math.round(performance.now() - started),
      });
    }
  };

  let composed: ReturnType<typeof composeAll> = { ok: false, target: 'supergraph', errors: [] };
  await run('composition', async () => {
    composed = composeAll(root);
    return {
      summary: composed.ok ? `${SUBGRAPHS.length} subgraphs compose, and every client's contract` : 'composition failed',
      findings: compositionFindings(composed),
    };
  });
  const notComposed = composed.ok ? undefined : 'skipped: the subgraphs do not compose';

  await run(
    'freshness',
    async () => {
      const findings = await freshnessFindings(root, composed as CompositionSuccess);
      return {
        summary: findings.length
          ? `${findings.length} stale artifact(s)`
          : 'supergraphs, API schemas, codegen output and manifests are fresh',
        findings,
      };
    },
    notComposed,
  );

  // The client operations (scripts/budgets.ts reads them, budget lines included); a file that
  // cannot be read fails the steps that need it, not the whole check.
  let parsed: Array<{ client: string; name: string; document: DocumentNode }> | Error;
  try {
    parsed = readOperations(root).map((op) => ({ client: op.client, name: op.name, document: parse(op.document) }));
  } catch (error) {
    parsed = error as Error;
  }
  const operations = () => {
    if (parsed instanceof Error) throw parsed;
    return parsed;
  };
  await run(
    'breaking',
    async () => {
      const base = resolveBase(root, options.base);
      baseDescription = base.describe;
      const acknowledged = Acknowledgements.parse(JSON.parse(read(new URL(ACKNOWLEDGEMENTS, root)) ?? '[]'));
      const findings: Finding[] = [];
      for (const client of CLIENTS) {
        const before = base.schemaOf(client.name);
        if (!before) continue;
        const baseSchema = buildSchema(before);
        const found: Change[] = await diff(baseSchema, buildSchema((composed as CompositionSuccess).apiSchemas[client.name]!));
        const usage = operations()
          .filter((d) => d.client === client.name)
          .map((d) => ({ name: `${d.client}/${d.name}`, used: coordinatesOf(baseSchema, d.document) }));
        for (const change of found) {
          const level =
            change.criticality.level === CriticalityLevel.Breaking
              ? 'BREAKING'
              : change.criticality.level === CriticalityLevel.Dangerous
                ? 'DANGEROUS'
                : 'SAFE';
          const ack = acknowledged.find(
            (a) => (a.client ?? client.name) === client.name && a.type === change.type && a.path === change.path,
          );
          const operations = usage.filter((u) => touches(u.used, change.path)).map((u) => u.name);
          changes.push({
            client: client.name,
            level,
            type: change.type,
            path: change.path,
            message: change.message,
            acknowledged: level === 'BREAKING' ? ack?.reason : undefined,
            operations,
          });
          const used = operations.length ? ` (used by ${operations.join(', ')})` : '';
          if (level === 'BREAKING' && !ack) {
            findings.push({
              level: 'error',
              message: `BREAKING for ${client.name}: ${change.message}${used}`,
              fix: `acknowledge it in ${ACKNOWLEDGEMENTS} ({"client": "${client.name}", "type": "${change.type}", "path": "${change.path}", "reason": "..."}) or keep the old shape`,
            });
          } else if (level !== 'SAFE') {
            findings.push({
              level: 'warning',
              message: `${level}${ack ? ' (acknowledged)' : ''} for ${client.name}: ${change.message}${used}`,
            });
          }
        }
      }
      const count = (level: string) => changes.filter((c) => c.level === level).length;
      return {
        summary: `against ${base.describe}: ${count('BREAKING')} breaking, ${count('DANGEROUS')} dangerous, ${count('SAFE')} safe`,
        findings,
      };
    },
    notComposed,
  );

  await run(
    'operations',
    async () => {
      const findings: Finding[] = [];
      const documents = operations();
      for (const { client, name, document } of documents) {
        const schema = buildSchema((composed as CompositionSuccess).apiSchemas[client]!);
        for (const error of validate(schema, document)) {
          const brokenBy = changes
            .filter((c) => c.client === client && c.level !== 'SAFE' && c.operations.includes(`${client}/${name}`))
            .map((c) => c.message);
          findings.push({
            level: 'error',
            message: `${client}/${name}: ${error.message}${brokenBy.length ? ` (broken by: ${brokenBy.join('; ')})` : ''}`,
          });
        }
      }
      return {
        summary: findings.length
          ? `${findings.length} invalid operation(s)`
          : `${documents.length} client operations are valid against their client's API schema`,
        findings,
      };
    },
    notComposed,
  );

  await run(
    'budgets',
    async () => {
      const budgeted = readOperations(root);
      const findings: Finding[] = [];
      for (const operation of budgeted) {
        const result = await measureBudget(operation);
        for (const error of result.errors)
          findings.push({ level: 'error', message: `${operation.client}/${operation.name} failed: ${error}` });
        for (const mismatch of result.mismatches) findings.push({ level: 'error', message: mismatch });
      }
      return {
        summary: findings.length ? 'an operation costs other than its budget' : `${budgeted.length} operations cost exactly their budgets`,
        findings,
      };
    },
    notComposed,
  );

  await run('lint', async () => {
    const findings = lintSubgraphs(readSubgraphs(root))
      .filter((f) => !options.subgraph || f.subgraph === options.subgraph)
      .map((f): Finding => ({ level: 'error', message: `${f.subgraph} ${f.coordinate} [${f.rule}]: ${f.message}` }));
    return {
      summary: findings.length
        ? `${findings.length} lint finding(s)`
        : `${options.subgraph ?? 'all subgraphs'} follow the ${Object.keys(LINT_RULES).length} rules`,
      findings,
    };
  });

  return { ok: steps.every((s) => s.status !== 'failed'), base: baseDescription, steps, changes };
}

export function printReport(report: CheckReport): string {
  const mark = { passed: '✔', failed: '✖', skipped: '–' } as const;
  const lines = [`schema check (base: ${report.base})`];
  for (const step of report.steps) {
    lines.push(`${mark[step.status]} ${step.step.padEnd(12)} ${step.summary}${step.ms ? ` (${step.ms} ms)` : ''}`);
    for (const f of step.findings)
      lines.push(
        `    ${f.level === 'error' ? 'error' : f.level === 'warning' ? 'warn ' : 'info '} ${f.message}${f.fix ? `\n          fix: ${f.fix}` : ''}`,
      );
  }
  const failed = report.steps.filter((s) => s.status === 'failed').map((s) => s.step);
  lines.push(report.ok ? 'PASSED' : `FAILED: ${failed.join(', ')}`);
  return `${lines.join('\n')}\n`;
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
    const badStep = values.skip?.find((s) => !(STEPS as readonly string[]).includes(s));
    if (badStep) usageError(`unknown step ${badStep}\n${usage}`);
    if (values.subgraph && !SUBGRAPHS.some((s) => s.name === values.subgraph)) usageError(`unknown subgraph ${values.subgraph}\n${usage}`);
    const report = await runSchemaCheck({ base: values.base, subgraph: values.subgraph, skip: values.skip as Step[] | undefined });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : printReport(report));
    process.exit(report.ok ? 0 : 1);
  });
}
