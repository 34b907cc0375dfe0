import { buildSchema, validate } from 'graphql';
import type { CompositionSuccess } from '../compose.js';
import type { ParsedOperation } from './breaking.js';
import type { Finding, SchemaChange } from './report.js';

/** Every client operation validated against its client's API schema, naming the change that broke it. */
export function checkOperations(composed: CompositionSuccess, documents: ParsedOperation[], changes: SchemaChange[]) {
  const findings: Finding[] = [];
  for (const { client, name, document } of documents) {
    const schema = buildSchema(composed.apiSchemas[client]!);
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
}
