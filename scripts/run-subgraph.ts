import { usageError } from '../kit/process/cli.js';
import { runProcess } from '../kit/process/service.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { SUBGRAPHS } from '../subgraphs/index.js';

/** `npm run subgraph -- <name>`: one subgraph as its own process. */
const name = process.argv[2];
const definition = SUBGRAPHS.find((s) => s.name === name);
if (!definition) usageError(`Usage: npm run subgraph -- <name>; subgraphs: ${SUBGRAPHS.map((s) => s.name).join(', ')}`);
await runProcess(`subgraph-${definition.name}`, async () => [await startSubgraph(definition)]);
