import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { env, loadConfig } from '../kit/config.js';
import { errorFormatter, noPhoneHomePlugins } from '../kit/graphql.js';
import { createLogger, type Logger } from '../kit/logger.js';
import { createRegistry } from '../kit/metrics.js';
import { createServiceApp, isMainModule, listen, runProcess, type RunningService } from '../kit/service.js';
import { CLIENTS, clientByName, clientSupergraphFile, type ClientConfig } from './clients/index.js';

export interface GatewayContext {
  requestId: string;
}

const REQUEST_ID = /^[\w.-]{1,128}$/;

/** Environment of one client's gateway; per-client names so one shell can start both. */
function gatewayConfigSchema(client: ClientConfig) {
  const prefix = client.name.toUpperCase();
  return z.object({
    HOST: env.host(),
    LOG_LEVEL: env.logLevel(),
    [`${prefix}_GATEWAY_PORT`]: env.port(client.defaultPort),
    SUPERGRAPH_PATH: z.string().min(1).default(fileURLToPath(clientSupergraphFile(client))),
    ...Object.fromEntries(client.subgraphs.map((name) => [`${name.toUpperCase()}_SUBGRAPH_URL`, env.url('').optional()])),
  });
}

/**
 * Subgraph calls: keep-alive, bounded in time, carrying the request id. A subgraph that
 * cannot be reached fails the fields it owns with a typed error naming it, never with the
 * transport's message (which would carry internal URLs).
 */
class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly timeoutMs: number,
  ) {
    super({ url });
  }
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    if (context?.requestId) request.http?.headers.set('x-request-id', context.requestId);
  }
  override fetcher = (async (input: string, init: RequestInit) => {
    try {
      return await fetch(input, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new GraphQLError(`Subgraph ${this.subgraph} ${timedOut ? 'did not answer in time' : 'is unavailable'}`, {
        extensions: { code: timedOut ? 'SUBGRAPH_TIMEOUT' : 'SUBGRAPH_UNAVAILABLE', subgraph: this.subgraph, retryable: true },
      });
    }
  }) as unknown as RemoteGraphQLDataSource['fetcher'];
}

function readSupergraph(path: string, logger: Logger): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    logger.fatal({ path, err: (error as Error).message }, 'cannot read the supergraph');
    throw new Error(`SUPERGRAPH_PATH: cannot read ${path}`);
  }
}

/** Starts the gateway of one client: its schema, limits and policy come from its config. */
export async function startGateway(client: ClientConfig, environment: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const config = loadConfig(gatewayConfigSchema(client), environment) as Record<string, string | number | undefined>;
  const logger = createLogger(`gateway-${client.name}`, String(config.LOG_LEVEL));
  const registry = createRegistry(`gateway-${client.name}`);
  const supergraphSdl = readSupergraph(String(config.SUPERGRAPH_PATH), logger);

  // @apollo/gateway reports usage to Apollo unless told not to; patchbay never phones home.
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    buildService: ({ name, url }) => {
      if (!client.subgraphs.includes(name as ClientConfig['subgraphs'][number])) {
        throw new Error(`supergraph has subgraph ${name}, which the ${client.name} client does not route to`);
      }
      const override = config[`${name.toUpperCase()}_SUBGRAPH_URL`];
      return new SubgraphDataSource(name, typeof override === 'string' ? override : String(url), client.subgraphTimeoutMs);
    },
  });

  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: client.introspection,
    hideSchemaDetailsFromClientErrors: !client.fieldSuggestions,
    includeStacktraceInErrorResponses: false,
    formatError: errorFormatter(logger),
    plugins: noPhoneHomePlugins(),
    csrfPrevention: true,
  });
  await server.start();

  const app = createServiceApp({ registry });
  app.use(
    '/graphql',
    cors({ origin: [...client.corsOrigins], credentials: false, maxAge: 600 }),
    express.json({ limit: client.maxBodyBytes }),
    expressMiddleware(server, {
      context: async ({ req, res }) => {
        const incoming = req.headers['x-request-id'];
        const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('x-request-id', requestId);
        return { requestId };
      },
    }),
  );
  app.use(((error, _req, res, _next) => {
    const status = error?.type === 'entity.too.large' ? 413 : typeof error?.status === 'number' ? error.status : 500;
    if (status >= 500) logger.error({ err: error }, 'request failed');
    res.status(status).json({
      errors: [{ message: status === 413 ? `Request body is larger than ${client.maxBodyBytes} bytes` : status === 400 ? 'Request body is not valid JSON' : 'Internal server error', extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 400 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR' } }],
    });
  }) as express.ErrorRequestHandler);

  const port = Number(config[`${client.name.toUpperCase()}_GATEWAY_PORT`]);
  return listen(`gateway ${client.name}`, app, String(config.HOST), port, () => server.stop());
}

if (isMainModule(import.meta.url)) {
  const name = process.argv[2] ?? process.env.GATEWAY_CLIENT;
  const client = name ? clientByName(name) : undefined;
  if (!client) {
    process.stderr.write(`Usage: npm run gateway -- <client>   (or GATEWAY_CLIENT=<client>); clients: ${CLIENTS.map((c) => c.name).join(', ')}\n`);
    process.exit(2);
  }
  await runProcess(async () => [await startGateway(client)], createLogger(`gateway-${client.name}`));
}
