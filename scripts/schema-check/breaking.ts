import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import {
  TypeInfo,
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import { CLIENTS, apiSchemaFile } from '../../gateway/clients/index.js';
import type { CompositionSuccess } from '../compose.js';
import { readIfExists, repoPath } from './paths.js';
import type { Finding, SchemaChange } from './report.js';

export interface ParsedOperation {
  client: string;
  name: string;
  document: DocumentNode;
  /** The app release it shipped in, for an operation that is no longer among the current ones. */
  release?: string;
}

/** How findings name an operation: `mobile/Home`, or `mobile/Home (release 1.0.0)`. */
export const operationLabel = (op: ParsedOperation) => `${op.client}/${op.name}${op.release ? ` (release ${op.release})` : ''}`;

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

/** What an operation touches: fields and arguments, and the enum and input types it reads or sends. */
function coordinatesOf(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const typeInfo = new TypeInfo(schema);
  const used = new Set<string>();
  // An input type sent is used with every input type it holds: a change deep in one breaks the sender.
  const useType = (type: ReturnType<typeof getNamedType> | undefined | null) => {
    if (!type || !(isEnumType(type) || isInputObjectType(type)) || used.has(type.name)) return;
    used.add(type.name);
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) useType(getNamedType(field.type));
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

export function resolveBase(root: URL, base: string | undefined): { describe: string; schemaOf(client: string): string | undefined } {
  const dir = base && existsSync(resolve(base)) && statSync(resolve(base)).isDirectory() ? resolve(base) : undefined;
  if (dir) return { describe: `directory ${base}`, schemaOf: (client) => readIfExists(pathToFileURL(`${dir}/${client}.graphql`)) };
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

/**
 * Each client's API schema against the base's: every change with its criticality and the
 * client operations that use what changed; an unacknowledged BREAKING change fails.
 */
export async function checkBreaking(
  root: URL,
  baseRef: string | undefined,
  composed: CompositionSuccess,
  operations: () => ParsedOperation[],
) {
  const base = resolveBase(root, baseRef);
  const acknowledged = Acknowledgements.parse(JSON.parse(readIfExists(new URL(ACKNOWLEDGEMENTS, root)) ?? '[]'));
  const findings: Finding[] = [];
  const changes: SchemaChange[] = [];
  for (const client of CLIENTS) {
    const before = base.schemaOf(client.name);
    if (!before) continue;
    const baseSchema = buildSchema(before);
    const found: Change[] = await diff(baseSchema, buildSchema(composed.apiSchemas[client.name]!));
    const usage = operations()
      .filter((d) => d.client === client.name)
      .map((d) => ({ name: operationLabel(d), used: coordinatesOf(baseSchema, d.document) }));
    for (const change of found) {
      const level =
        change.criticality.level === CriticalityLevel.Breaking
          ? 'BREAKING'
          : change.criticality.level === CriticalityLevel.Dangerous
            ? 'DANGEROUS'
            : 'SAFE';
      const ack = acknowledged.find((a) => (a.client ?? client.name) === client.name && a.type === change.type && a.path === change.path);
      const users = usage.filter((u) => touches(u.used, change.path)).map((u) => u.name);
      changes.push({
        client: client.name,
        level,
        type: change.type,
        path: change.path,
        message: change.message,
        acknowledged: level === 'BREAKING' ? ack?.reason : undefined,
        operations: users,
      });
      const used = users.length ? ` (used by ${users.join(', ')})` : '';
      // A safelisted client runs only operations known here (its current ones and its supported
      // releases'): a change none of them uses breaks none of its apps.
      const breaksNoApp = client.safelist && change.path !== undefined && users.length === 0;
      if (level === 'BREAKING' && breaksNoApp && !ack) {
        findings.push({
          level: 'warning',
          message: `BREAKING for ${client.name}, but no operation it can run uses it (its current operations and supported releases): ${change.message}`,
        });
      } else if (level === 'BREAKING' && !ack) {
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
    base: base.describe,
    changes,
    summary: `against ${base.describe}: ${count('BREAKING')} breaking, ${count('DANGEROUS')} dangerous, ${count('SAFE')} safe`,
    findings,
  };
}
