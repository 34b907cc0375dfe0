import { accounts } from './accounts/index.js';
import { analytics } from './analytics/index.js';
import { email } from './email/index.js';
import { storage } from './storage/index.js';

/** Every subgraph of the graph: what `npm run compose` composes and `npm start` runs. */
export const SUBGRAPHS = [accounts, email, storage, analytics] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];
