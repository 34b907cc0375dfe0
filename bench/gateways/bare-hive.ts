/**
 * Bare Hive Gateway runtime on SUPERGRAPH_PATH, for the gateway benchmark: its default
 * (JavaScript) query planner, or with HIVE_PLANNER=rust Hive's Rust planner
 * (@graphql-hive/router-runtime), the engine and planner patchbay's gateway runs on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

const runtime = createGatewayRuntime({
  supergraph: process.env.SUPERGRAPH_PATH!,
  logging: false,
  ...(process.env.HIVE_PLANNER === 'rust' ? { unifiedGraphHandler } : {}),
});
const server = http.createServer(runtime);
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.stdout.write(
  `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, msg: 'bare hive listening' })}\n`,
);
process.on('SIGTERM', () => void Promise.resolve(runtime.dispose()).then(() => process.exit(0)));
