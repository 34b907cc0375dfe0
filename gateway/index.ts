import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { CALLER_HEADER, signCaller } from '../kit/caller.js';
import { usageError } from '../kit/cli.js';
import { ConfigError, ServerConfig, env, loadConfig } from '../kit/config.js';
import { errorFormatter, noPhoneHomePlugins } from '../kit/graphql.js';
import { LOCAL } from '../kit/local-defaults.js';
import { createLogger } from '../kit/logger.js';
import { createRegistry } from '../kit/metrics.js';
import { createServiceApp, isMainModule, listen, runProcess, type RunningService } from '../kit/service.js';
import { AuthConfig, AuthError, createVerifier, type Identity } from './auth.js';
import { CLIENTS, clientByName, clientSupergraphFile, type ClientConfig } from './clients/index.js';
import { queryLimits } from './limits.js';
import { readManifest, safelist } from './persisted.js';

export interface GatewayContext {
  requestId: string;
  /** W3C trace context of this request: its trace id and flags, from the client or new. */
  trace: { traceId: string; flags: string; state?: string };
  /** The verified caller, signed for the subgraphs (kit/caller.ts). */
  callerToken: string;
  /** Client headers this client's config lets through to the subgraphs. */
  forwarded: Record<string, string>;
}

const REQUEST_ID = /^[\w.-]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Environment of one client's gateway; per-client names so one shell can start both. */
function gatewayConfigSchema(client: ClientConfig) {
  const prefix = client.name.toUpperCase();
  const origins = z
    .string()
    .transform((list) => list.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must be a comma-separated list of origins like https://app.example.com')));
  const defaultOrigins = client.corsOrigins.join(',');
  return ServerConfig.extend({
    [`${prefix}_GATEWAY_PORT`]: env.port(client.defaultPort),
    [`${prefix}_SUPERGRAPH_PATH`]: z.string().min(1).default(fileURLToPath(clientSupergraphFile(client))),
    [`${prefix}_SAFELIST`]: env.bool(client.safelist !== undefined),
    [`${prefix}_INTROSPECTION`]: env.bool(client.introspection),
    // Browser origins: the local ones are for development; a deployment names its own.
    [`${prefix}_CORS_ORIGINS`]: defaultOrigins ? env.local(origins.default([...client.corsOrigins])) : origins.default([]),
    INTERNAL_TOKEN_SECRET: env.secret(LOCAL.auth.internalTokenSecret, { minLength: 32 }),
    // Unset, a subgraph is called at the URL the supergraph gives it.
    ...Object.fromEntries(client.subgraphs.map((name) => [`${name.toUpperCase()}_SUBGRAPH_URL`, env.url().optional()])),
  }).extend(AuthConfig.shape);
}

/** The trace this request continues (a valid incoming traceparent) or starts. */
function traceOf(req: express.Request): GatewayContext['trace'] {
  const incoming = TRACEPARENT.exec(String(req.headers.traceparent ?? ''));
  const state = typeof req.headers.tracestate === 'string' && req.headers.tracestate.length <= 512 ? req.headers.tracestate : undefined;
  if (incoming && !/^0+$/.test(incoming[1]!) && !/^0+$/.test(incoming[2]!)) return { traceId: incoming[1]!, flags: incoming[3]!, state };
  return { traceId: randomBytes(16).toString('hex'), flags: '01' };
}

/**
 * Subgraph calls: keep-alive (fetch's pooled connections), bounded in time, carrying the
 * request id, the trace context with a span of their own, the signed caller and only the
 * client headers the client's config allows. A subgraph that cannot be reached fails the
 * fields it owns with a typed error naming it, never with the transport's message (which
 * would carry internal URLs).
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
    const headers = request.http?.headers;
    if (!headers || !context?.callerToken) return;
    for (const [name, value] of Object.entries(context.forwarded as Record<string, string>)) headers.set(name, value);
    headers.set('x-request-id', context.requestId);
    headers.set(CALLER_HEADER, context.callerToken);
    headers.set('traceparent', `00-${context.trace.traceId}-${randomBytes(8).toString('hex')}-${context.trace.flags}`);
    if (context.trace.state) headers.set('tracestate', context.trace.state);
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

function readSupergraph(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`]);
  }
}

/** Starts the gateway of one client: its schema, limits and policy come from its config. */
export async function startGateway(client: ClientConfig, environment: NodeJS.ProcessEnv = process.env): Promise<RunningService> {
  const prefix = client.name.toUpperCase();
  const config = loadConfig(gatewayConfigSchema(client), environment) as Record<string, unknown> &
    AuthConfig & ServerConfig & { INTERNAL_TOKEN_SECRET: string };
  const logger = createLogger(`gateway-${client.name}`, config.LOG_LEVEL);
  const registry = createRegistry(`gateway-${client.name}`);
  const supergraphSdl = readSupergraph(`${prefix}_SUPERGRAPH_PATH`, String(config[`${prefix}_SUPERGRAPH_PATH`]));
  const verify = createVerifier(config);
  const limits = queryLimits(client.limits);
  const safelisted = client.safelist && config[`${prefix}_SAFELIST`] ? readManifest(client.safelist) : undefined;

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
    introspection: Boolean(config[`${prefix}_INTROSPECTION`]),
    hideSchemaDetailsFromClientErrors: !client.fieldSuggestions,
    includeStacktraceInErrorResponses: false,
    formatError: errorFormatter(logger),
    validationRules: limits.validationRules,
    plugins: [...noPhoneHomePlugins(), ...limits.plugins],
    csrfPrevention: true,
    // A safelisted client runs its manifest only: no run-time registration (APQ) at all.
    ...(safelisted ? { persistedQueries: false as const } : {}),
  });
  await server.start();

  const app = createServiceApp({ registry });
  app.use(
    '/graphql',
    cors({ origin: config[`${prefix}_CORS_ORIGINS`] as unknown as string[], credentials: false, maxAge: 600 }),
    // Every operation needs a verified caller; the subgraphs decide what that caller may see.
    (req, res, next) => {
      verify(req.headers.authorization).then(
        (identity) => {
          res.locals.identity = identity;
          next();
        },
        (error: unknown) => {
          if (!(error instanceof AuthError)) return next(error);
          res.setHeader('WWW-Authenticate', `Bearer realm="patchbay", error="invalid_token"`);
          res.status(401).json({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
        },
      );
    },
    express.json({ limit: client.maxBodyBytes }),
    ...(safelisted ? [safelist(safelisted)] : []),
    expressMiddleware(server, {
      context: async ({ req, res }) => {
        const incoming = req.headers['x-request-id'];
        const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('x-request-id', requestId);
        const identity = res.locals.identity as Identity;
        const forwarded: Record<string, string> = {};
        for (const name of client.forwardHeaders) {
          const value = req.headers[name];
          if (typeof value === 'string') forwarded[name] = value;
        }
        return {
          requestId,
          trace: traceOf(req),
          callerToken: await signCaller({ ...identity, client: client.name }, config.INTERNAL_TOKEN_SECRET),
          forwarded,
        };
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
  if (!client) usageError(`Usage: npm run gateway -- <client>   (or GATEWAY_CLIENT=<client>); clients: ${CLIENTS.map((c) => c.name).join(', ')}`);
  await runProcess(`gateway-${client.name}`, async () => [await startGateway(client)]);
}
