/** What `npm run schema:check` reports: steps, their findings, the schema changes per client. */
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
