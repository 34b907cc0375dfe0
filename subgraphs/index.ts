import type { AnySubgraphDefinition } from '../kit/subgraph/definition.js';
import { SUBGRAPH_NAMES } from './registry.js';

export type { SubgraphName } from './registry.js';

/**
 * Every subgraph of the graph, in registry order: what `npm run compose` composes and
 * `npm start` runs. Each is subgraphs/<name>/index.ts's `subgraph`, found by its registry name.
 */
async function loadSubgraphs(): Promise<AnySubgraphDefinition[]> {
  const found: AnySubgraphDefinition[] = [];
  // One at a time: jest's ESM loader fails concurrent first imports of a shared module.
  for (const name of SUBGRAPH_NAMES) {
    const module = (await import(`./${name}/index.js`)) as { subgraph?: AnySubgraphDefinition };
    if (module.subgraph?.name !== name) throw new Error(`subgraphs/${name}/index.ts must export \`subgraph\`, named '${name}'`);
    found.push(module.subgraph);
  }
  return found;
}

export const SUBGRAPHS: readonly AnySubgraphDefinition[] = await loadSubgraphs();
