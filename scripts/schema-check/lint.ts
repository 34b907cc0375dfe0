import { readSubgraphs } from '../compose.js';
import { LINT_RULES, lintSubgraphs } from '../schema-lint.js';
import type { Finding } from './report.js';

/** The team's SDL rules (scripts/schema-lint.ts), for every subgraph or one. */
export function checkLint(root: URL, subgraph: string | undefined) {
  const findings = lintSubgraphs(readSubgraphs(root))
    .filter((f) => !subgraph || f.subgraph === subgraph)
    .map((f): Finding => ({ level: 'error', message: `${f.subgraph} ${f.coordinate} [${f.rule}]: ${f.message}` }));
  return {
    summary: findings.length
      ? `${findings.length} lint finding(s)`
      : `${subgraph ?? 'all subgraphs'} follow the ${Object.keys(LINT_RULES).length} rules`,
    findings,
  };
}
