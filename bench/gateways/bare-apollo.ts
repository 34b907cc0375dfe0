/** Bare @apollo/gateway behind Apollo Server on SUPERGRAPH_PATH, for the gateway benchmark. */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

process.env.APOLLO_TELEMETRY_DISABLED = '1';
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH!, 'utf8') }) });
const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
process.stdout.write(`${JSON.stringify({ url: url.replace(/\/$/, ''), msg: 'bare apollo listening' })}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
