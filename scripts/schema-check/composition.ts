import { SUBGRAPHS } from '../../subgraphs/index.js';
import { composeAll } from '../compose.js';
import type { Finding } from './report.js';

/** Composes the subgraphs and every client's contract; a failure names the subgraph and coordinate. */
export function checkComposition(root: URL) {
  const composed = composeAll(root);
  return {
    composed,
    summary: composed.ok ? `${SUBGRAPHS.length} subgraphs compose, and every client's contract` : 'composition failed',
    findings: compositionFindings(composed),
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
