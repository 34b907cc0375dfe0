import { measureBudget, readOperations } from '../budgets.js';
import type { Finding } from './report.js';

/** Every client operation run on a fresh stack: it must cost exactly its declared budget. */
export async function checkBudgets(root: URL) {
  const budgeted = readOperations(root);
  const findings: Finding[] = [];
  for (const operation of budgeted) {
    const result = await measureBudget(operation);
    for (const error of result.errors) findings.push({ level: 'error', message: `${operation.client}/${operation.name} failed: ${error}` });
    for (const mismatch of result.mismatches) findings.push({ level: 'error', message: mismatch });
  }
  return {
    summary: findings.length ? 'an operation costs other than its budget' : `${budgeted.length} operations cost exactly their budgets`,
    findings,
  };
}
