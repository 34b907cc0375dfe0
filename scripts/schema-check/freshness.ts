import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import codegen from '../../codegen.js';
import { persistedManifest } from '../persisted.js';
import { CLIENTS, SUPERGRAPH_FILE, apiSchemaFile, clientSupergraphFile } from '../../gateway/clients/index.js';
import { DEPLOYED_SUPERGRAPHS_DIR, type CompositionSuccess } from '../compose.js';
import { readIfExists, repoPath } from './paths.js';
import type { Finding } from './report.js';
import { messageOf } from '../../kit/process/caught.js';

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
  /** A supergraph, and its copy the Kubernetes base serves from a ConfigMap. */
  const supergraph = (file: URL, content: string) => {
    artifacts.set(repoPath(file), { content, command: 'npm run compose' });
    artifacts.set(repoPath(new URL(basename(fileURLToPath(file)), DEPLOYED_SUPERGRAPHS_DIR)), { content, command: 'npm run compose' });
  };
  supergraph(SUPERGRAPH_FILE, composed.supergraph);
  for (const client of CLIENTS) {
    artifacts.set(repoPath(apiSchemaFile(client.name)), { content: composed.apiSchemas[client.name]!, command: 'npm run compose' });
    if (client.contract) supergraph(clientSupergraphFile(client), composed.clientSupergraphs[client.name]!);
  }
  try {
    const outputs = (await generate({ ...codegen, cwd: fileURLToPath(root), silent: true, verbose: false }, false)) as Array<{
      filename: string;
      content: string;
    }>;
    for (const output of outputs) artifacts.set(output.filename, { content: output.content, command: 'npm run codegen' });
  } catch (error) {
    // Codegen validates the client operations; the operations step says which and why.
    const first =
      String(messageOf(error))
        .split('\n')
        .find((line) => line.trim()) ?? 'failed';
    failures.push({
      level: 'error',
      message: `codegen output cannot be generated: ${first.trim()}`,
      fix: 'make the client operations valid (see the operations step), then npm run codegen',
    });
  }

  for (const client of CLIENTS.filter((candidate) => candidate.safelist)) {
    artifacts.set(`clients/${client.name}/persisted-query-manifest.json`, {
      content: await persistedManifest(client, root),
      command: 'npm run persisted',
    });
  }
  return { artifacts, failures };
}

/** Whether every committed generated file is what its generator writes now. */
export async function checkFreshness(root: URL, composed: CompositionSuccess) {
  const findings = await freshnessFindings(root, composed);
  return {
    summary: findings.length ? `${findings.length} stale artifact(s)` : 'supergraphs, API schemas, codegen output and manifests are fresh',
    findings,
  };
}

async function freshnessFindings(root: URL, composed: CompositionSuccess): Promise<Finding[]> {
  const { artifacts, failures } = await generatedArtifacts(root, composed);
  const findings: Finding[] = [...failures];
  for (const [file, { content, command }] of artifacts) {
    const committed = readIfExists(new URL(file, root));
    // The manifest is compared as data: its generator's spacing is not part of the contract.
    const same = file.endsWith('.json')
      ? committed !== undefined && JSON.stringify(JSON.parse(committed)) === JSON.stringify(JSON.parse(content))
      : committed === content;
    if (!same) findings.push({ level: 'error', message: `${file} is stale`, fix: command });
  }
  return findings;
}
