/**
 * The shop graph's subgraphs (test/fixtures/shop-graph.ts) in a process of their own, for the
 * gateway benchmark; writes the supergraph to SUPERGRAPH_OUT and logs that it listens.
 */
import { writeFileSync } from 'node:fs';
import { startShop } from '../../test/fixtures/shop-graph.js';

const shop = await startShop();
writeFileSync(process.env.SUPERGRAPH_OUT!, shop.supergraph());
process.stdout.write(`${JSON.stringify({ url: shop.urls.people, msg: 'shop listening' })}\n`);
process.on('SIGTERM', () => void shop.close().then(() => process.exit(0)));
