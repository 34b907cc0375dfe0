import { buildSchema, validate } from 'graphql';
import type { CompositionSuccess } from '../compose.js';
import { operationLabel, type ParsedOperation } from './breaking.js';
import type { Finding, SchemaChange } from './report.js';

/** Every client operation validated against its client's API schema, naming the change that broke it. */
export function checkOperations(composed: CompositionSuccess, documents: ParsedOperation[], changes: SchemaChange[]) {
  const findings: Finding[] = [];
  for (const operation of documents) {
    const { client, document, release } = operation;
    const label = operationLabel(operation);
    const schema = buildSchema(composed.apiSchemas[client]!);
    for (const error of validate(schema, document)) {
      const brokenBy = changes
        .filter((c) => c.client === client && c.level !== 'SAFE' && c.operations.includes(label))
        .map((c) => c.message);
      findings.push({
        level: 'error',
        message: `${label}: ${error.message}${brokenBy.length ? ` (broken by: ${brokenBy.join('; ')})` : ''}`,
        // An app in users' hands runs it: the schema keeps what it asks for until the release is retired.
        ...(release
          ? {
              fix: `keep what ${client} ${release} asks for (deprecate it instead), or retire ${release}: raise minimumVersion in clients/${client}/releases/releases.json once its traffic is gone`,
            }
          : {}),
      });
    }
  }
  return {
    summary: findings.length
      ? `${findings.length} invalid operation(s)`
      : `${documents.length} client operations (current and of supported releases) are valid against their client's API schema`,
    findings,
  };
}
