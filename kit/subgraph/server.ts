import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import express from 'express';
import { createHandler as createStreamHandler } from 'graphql-sse/lib/use/express';
import type { Registry } from 'prom-client';
import { GraphQLError, parse, type ExecutionResult } from 'graphql';
import { endableStream } from '../process/endable-stream.js';
import { z } from 'zod';
import { readSchema, type AnySubgraphDefinition, type SubgraphContext } from './definition.js';
import { CALLER_HEADER, InternalTokenConfig, createCallerVerifier, type Caller } from '../caller/token.js';
import { SIGNATURE_HEADER, createRequestSignature } from '../caller/body-signature.js';
import { ServerConfig, env, loadAll, loadConfig, metricsPortOf } from '../process/config.js';
import { errorFormatter, noPhoneHomePlugins } from './apollo.js';
import { staleMarksPlugin, withStalenessReports } from './staleness.js';
import { createLogger } from '../process/logger.js';
import { OPERATION_HEADER, createOperationMetrics, createRegistry } from '../process/metrics.js';
import { createServiceApp, listen, type RunningService } from '../process/service.js';
import { createSubgraphResources, SubgraphResourcesConfig } from '../source/resources.js';
import { SpanKind, context, extractContext, trace, tracer } from '../process/tracing.js';
import { envName } from '../process/env-name.js';

/**
 * Each operation counted and timed by name and outcome, and the request's span named after it
 * (`query Dashboard__email__1`) once it is known.
 */
function observeOperations(registry: Registry): ApolloServerPlugin {
  const metrics = createOperationMetrics(registry);
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      let operationLabel = 'unknown';
      return {
        async didResolveOperation({ operation, operationName, request }) {
          operationLabel = metrics.labels.of(request.http?.headers.get(OPERATION_HEADER) ?? operationName);
          const span = trace.getActiveSpan();
          if (!span || !operation) return;
          span.updateName(`${operation.operation} ${operationName ?? 'anonymous'}`);
          span.setAttributes({ 'graphql.operation.type': operation.operation, 'graphql.operation.name': operationName ?? 'anonymous' });
        },
        async willSendResponse({ response }) {
          const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const hasData = single ? single.data != null : true;
          // As answered (formatted): the codes a dashboard shows are those the gateway received.
          const codes = (single?.errors ?? []).map((error) =>
            typeof error.extensions?.code === 'string' ? error.extensions.code : 'UNKNOWN',
          );
          metrics.operations.inc({ operation: operationLabel, outcome: !hasData ? 'error' : codes.length ? 'partial' : 'ok' });
          metrics.duration.observe({ operation: operationLabel }, (performance.now() - startedAt) / 1000);
          for (const code of codes) metrics.errors.inc({ operation: operationLabel, code });
        },
      };
    },
  };
}

/** What every subgraph process reads besides its own settings. */
export const SubgraphServerConfig = ServerConfig.extend(InternalTokenConfig.shape).extend(SubgraphResourcesConfig.shape);

/** A subgraph's ports, read under its prefix (`ACCOUNTS_PORT`, `ACCOUNTS_METRICS_PORT`). */
export const portsOf = (definition: AnySubgraphDefinition) =>
  z.object({ PORT: env.port(definition.defaultPort), METRICS_PORT: env.metricsPort() });

/** Starts a subgraph's HTTP server (/graphql, /healthz, /readyz, its webhooks) and its metrics listener. */
export async function startSubgraph(
  definition: AnySubgraphDefinition,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<RunningService> {
  // Every variable validated before any is used, so a bad deployment learns every wrong value at once.
  const prefix = `${envName(definition.name)}_`;
  const [processConfig, ports, own] = loadAll(
    () => loadConfig(SubgraphServerConfig, environment),
    () => loadConfig(portsOf(definition), environment, prefix),
    () => loadConfig(definition.config, environment),
  );
  const config = { ...processConfig, ...own };
  const port = ports.PORT;
  const metricsPort = metricsPortOf(port, ports.METRICS_PORT, `${prefix}METRICS_PORT`);

  const logger = createLogger(`subgraph-${definition.name}`, config.LOG_LEVEL);
  const registry = createRegistry(`subgraph-${definition.name}`);
  const resources = createSubgraphResources(logger, registry, processConfig);
  const dependencies = definition.createDependencies(config, resources);

  const subgraphSchema = buildSubgraphSchema({
    typeDefs: parse(readSchema(definition.schemaFile)),
    resolvers: withStalenessReports(definition.resolvers) as GraphQLResolverMap<unknown>,
  });
  const server = new ApolloServer<SubgraphContext<unknown, unknown>>({
    schema: subgraphSchema,
    includeStacktraceInErrorResponses: false,
    formatError: errorFormatter(logger),
    // Stale marks last: they are for the gateway, not counted as errors.
    plugins: [...noPhoneHomePlugins(), observeOperations(registry), staleMarksPlugin()],
  });
  await server.start();

  const app = createServiceApp({ details: () => resources.health() });
  const verifyCaller = createCallerVerifier(config.INTERNAL_TOKEN_SECRET, definition.name);
  const signature = createRequestSignature(config.INTERNAL_TOKEN_SECRET);
  // What the checks before Apollo learned of each request: the caller the gateway vouched
  // for, and whether the body was signed for that caller.
  const vouched = new WeakMap<IncomingMessage, { caller: Caller; signed: boolean; signal: AbortSignal }>();
  const refuse = (res: express.Response, status: number, message: string, code: string) =>
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  /** The context of a request the checks below vouched for: one per GraphQL request, its loaders its own. */
  const contextOf = (req: IncomingMessage) => {
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
    const { caller, signal } = vouched.get(req) ?? {};
    // Never so: the checks below answer every request that has no caller.
    if (!caller || !signal) throw new Error('subgraph request without a vouched caller');
    const idempotencyKey = req.headers['idempotency-key'];
    const traceparent = req.headers.traceparent;
    return {
      requestId,
      caller,
      idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
      signal,
      logger: logger.child({ requestId, userId: caller.userId, ...(typeof traceparent === 'string' ? { traceparent } : {}) }),
      dependencies,
      loaders: definition.createLoaders(dependencies),
    };
  };
  // Subscriptions, as the gateway asks for them: the same POST, `Accept: text/event-stream`,
  // answered as a GraphQL over SSE stream (distinct connections), errors formatted as Apollo's.
  const formatError = errorFormatter(logger);
  // A stopping process tells its streams to come back (the gateway passes it on to the client,
  // which resumes after its last event id on another replica), rather than cutting them.
  const drains = new Set<() => void>();
  const drainStreams = () => {
    for (const drain of drains) drain();
  };
  const RECONNECT: ExecutionResult = {
    errors: [
      new GraphQLError('This service is stopping: subscribe again, after the last event id', {
        extensions: { code: 'RECONNECT', retryable: true },
      }),
    ],
  };
  const streams = createStreamHandler<ReturnType<typeof contextOf>>({
    schema: subgraphSchema,
    context: (req) => contextOf(req.raw),
    onOperation: (_context, _req, _args, result) => {
      if (!(Symbol.asyncIterator in result)) return;
      let drain = () => {};
      const draining = new Promise<ExecutionResult>((resolve) => (drain = () => resolve(RECONNECT)));
      drains.add(drain);
      return endableStream(result, draining, () => drains.delete(drain));
    },
    onNext: (_context, _req, result) =>
      result.errors
        ? {
            ...result,
            errors: result.errors.map((error) => {
              const formatted = formatError(error.toJSON(), error);
              return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
            }),
          }
        : result,
  });
  definition.routes?.(app, { config, dependencies, logger, registry });
  app.use(
    '/graphql',
    // The request's span, continuing the gateway's trace (`traceparent`); active for everything
    // the request runs, so DataLoader batches and upstream calls are its children.
    (req, res, next) => {
      const parent = extractContext((name) => req.headers[name]);
      const span = tracer.startSpan(
        'POST /graphql',
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': req.method, 'url.path': '/graphql', 'patchbay.subgraph': definition.name },
        },
        parent,
      );
      res.once('close', () => {
        span.setAttribute('http.response.status_code', res.statusCode);
        span.end();
      });
      context.with(trace.setSpan(parent, span), next);
    },
    // Only the gateway may call a subgraph: it vouches for the caller with a signed header,
    // and signs that header together with the body it sends.
    (req, res, next) => {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return void refuse(res, 405, 'This service answers POST requests from the patchbay gateway only', 'METHOD_NOT_ALLOWED');
      }
      const header = req.headers[CALLER_HEADER];
      verifyCaller(typeof header === 'string' ? header : undefined).then((caller) => {
        if (!caller) {
          logger.warn({ forged: header !== undefined }, 'subgraph request without a valid caller header refused');
          return void refuse(res, 401, 'This service answers the patchbay gateway only', 'UNAUTHENTICATED');
        }
        const closed = new AbortController();
        res.once('close', () => closed.abort());
        vouched.set(req, { caller, signed: false, signal: closed.signal });
        next();
      }, next);
    },
    express.json({
      limit: '1mb',
      verify: (req, _res, body) => {
        const given = req.headers[SIGNATURE_HEADER];
        const request = vouched.get(req);
        if (request)
          request.signed = signature.matches(typeof given === 'string' ? given : undefined, String(req.headers[CALLER_HEADER]), body);
      },
    }),
    (req, res, next) => {
      if (vouched.get(req)?.signed) return next();
      logger.warn({}, 'subgraph request whose signature does not match its body refused');
      refuse(res, 401, 'The request signature does not match its body', 'UNAUTHENTICATED');
    },
    (req, res, next) => {
      if (!(req.headers.accept ?? '').includes('text/event-stream')) return next();
      streams(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'subscription stream failed');
        if (!res.headersSent) refuse(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
        else res.end();
      });
    },
    expressMiddleware(server, { context: async ({ req }) => contextOf(req) }),
  );

  return listen(`subgraph ${definition.name}`, app, config.HOST, port, {
    logger,
    onDrain: drainStreams,
    metrics: { registry, port: metricsPort },
    onClose: async () => {
      await server.stop();
      await resources.close();
    },
  });
}
