import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Registry } from 'prom-client';
import { usageError } from './cli.js';
import { ConfigError, ProcessConfig, ServerConfig, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { startTracing } from './tracing.js';
import { messageOf } from './caught.js';

export interface RunningService {
  name: string;
  /** Base URL of the listening server, e.g. http://127.0.0.1:4011 */
  url: string;
  port: number;
  /** Where Prometheus scrapes the service (`${metricsUrl}/metrics`), on a port of its own; none for services without metrics. */
  metricsUrl?: string;
  /** Reports not-ready on /readyz from now on, while still serving. */
  drain(): void;
  /** Stops taking connections, lets open requests finish, then releases resources. */
  close(): Promise<void>;
}

/**
 * The HTTP shell every patchbay process shares: liveness and readiness next to whatever the
 * service mounts (its metrics are on a port of their own: see listen).
 *
 * Readiness means "this process can serve": started and not shutting down. It does not
 * follow upstream health: a provider outage already fails only the fields it backs, and
 * taking every replica out of rotation for it would fail them all. What the process knows
 * about its upstreams (breaker states) is reported in the body for operators.
 */
export function createServiceApp(options: { details?: () => Record<string, unknown> } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.locals.draining = false;
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const draining = app.locals.draining === true;
    res.status(draining ? 503 : 200).json({ status: draining ? 'draining' : 'ready', ...options.details?.() });
  });
  return app;
}

/** A request error in the shape every patchbay route answers with, GraphQL's: `{ errors: [{ message, extensions: { code } }] }`. */
export const errorJson = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/** What body-parser's errors mean to a client; anything else is the service's fault. */
const BODY_ERRORS: Record<string, { status: number; code: string; message: (error: { limit?: number }) => string }> = {
  'entity.too.large': {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: (e) => `Request body is larger than ${e.limit ?? 'the limit of'} bytes`,
  },
  'entity.parse.failed': { status: 400, code: 'BAD_REQUEST', message: () => 'Request body is not valid JSON' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'Request body encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: () => 'Request body charset is not supported' },
  'request.aborted': { status: 400, code: 'BAD_REQUEST', message: () => 'Request body was not sent in full' },
  'request.size.invalid': { status: 400, code: 'BAD_REQUEST', message: () => 'Request body does not match its Content-Length' },
};

/**
 * The last handlers of every Express app patchbay serves: an unknown route is a JSON 404,
 * and an error is a JSON answer with a status and a code, never Express's HTML page with its
 * stack and file paths, whatever NODE_ENV is. Errors that are not the client's are logged.
 */
export function answerErrorsAsJson(app: Express, logger: Logger): void {
  app.use((req, res) => {
    res.status(404).json(errorJson(`No route ${req.method} ${req.path.slice(0, 200)}`, 'NOT_FOUND'));
  });
  const handler: ErrorRequestHandler = (error: { type?: string; status?: number; limit?: number }, req, res, _next) => {
    if (res.headersSent) return void res.end();
    const known = error?.type ? BODY_ERRORS[error.type] : undefined;
    if (known) return void res.status(known.status).json(errorJson(known.message(error), known.code));
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res
      .status(status)
      .json(status === 500 ? errorJson('Internal server error', 'INTERNAL_SERVER_ERROR') : errorJson('Bad request', 'BAD_REQUEST'));
  };
  app.use(handler);
}

export interface ListenOptions {
  /** Releases what the service holds, after its server stopped. */
  onClose?: () => Promise<void> | void;
  /** Tells long-lived requests (streams) to end, when draining begins: the server waits for them to. */
  onDrain?: () => void;
  /** Takes every request first and hands the app what it does not serve itself. */
  handler?: http.RequestListener;
  /** Takes the requests that ask to switch protocols (WebSocket); without it they are served as plain requests. */
  onUpgrade?: (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Where errors of the app's routes are logged; a logger named after the service by default. */
  logger?: Logger;
  /** Serves the registry's metrics at /metrics on this port (0: a free one), and nothing else there. */
  metrics?: { registry: Registry; port: number };
}

/** HTTP-level refusals Node's parser makes before any handler runs (an oversized header, a request that is not HTTP). */
const PARSER_REFUSALS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'Request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request was not sent in time'],
};

/**
 * Answers what Node's HTTP parser refuses as JSON too, where Node would write a bare status
 * line: a malformed request, an oversized header, a request sent too slowly.
 */
function answerParserErrorsAsJson(server: http.Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, reason, message] = PARSER_REFUSALS[error.code ?? ''] ?? [400, 'Bad Request', 'The request is not valid HTTP'];
    const body = JSON.stringify(
      errorJson(message, status === 431 ? 'HEADERS_TOO_LARGE' : status === 408 ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST'),
    );
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Listens on host:port; resolves once listening. */
async function listening(server: http.Server, host: string, port: number): Promise<{ url: string; port: number }> {
  answerParserErrorsAsJson(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return { url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`, port: address.port };
}

/** Stops taking connections and lets open requests finish (idle ones are closed now, the rest after 2 s). */
const stopServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });

/** The metrics listener: GET /metrics, and a JSON 404 for anything else. */
function metricsServer(registry: Registry): http.Server {
  return http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      void registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () =>
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify(errorJson('Metrics could not be collected', 'INTERNAL_SERVER_ERROR'))),
      );
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify(errorJson('Only GET /metrics is served here', 'NOT_FOUND')));
  });
}

/**
 * Listens on host:port (port 0 picks a free one) and returns how to reach and stop it.
 * `app` is the service shell (its /readyz reports draining); its routes are complete by
 * now, so the JSON answers for unknown routes and errors go last.
 */
export async function listen(name: string, app: Express, host: string, port: number, options: ListenOptions = {}): Promise<RunningService> {
  const { onClose = () => {}, onDrain = () => {}, handler = app } = options;
  answerErrorsAsJson(app, options.logger ?? createLogger(name.replace(/\s+/g, '-'), 'info'));
  const server = http.createServer(handler);
  if (options.onUpgrade) server.on('upgrade', options.onUpgrade);
  server.keepAliveTimeout = 65_000;
  // A request (headers and body) arrives in this time or is answered 408: a client sending
  // slowly cannot hold a connection, nor make the server read a refused body for long.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  const own = await listening(server, host, port);
  let metrics: { server: http.Server; url: string } | undefined;
  if (options.metrics) {
    const scrapes = metricsServer(options.metrics.registry);
    try {
      metrics = { server: scrapes, url: (await listening(scrapes, host, options.metrics.port)).url };
    } catch (error) {
      await stopServer(server);
      throw error;
    }
  }
  return {
    name,
    url: own.url,
    port: own.port,
    ...(metrics ? { metricsUrl: metrics.url } : {}),
    drain() {
      app.locals.draining = true;
      onDrain();
    },
    async close() {
      app.locals.draining = true;
      onDrain();
      await Promise.all([stopServer(server), metrics && stopServer(metrics.server)]);
      await onClose();
    },
  };
}

/**
 * Runs services as their own process. `start` validates the whole configuration first, so a
 * bad one stops the process with exit 2 and one line per wrong variable; an unexpected
 * failure is one JSON log line and exit 1. SIGINT and SIGTERM drain, then close cleanly.
 */
export async function runProcess(name: string, start: () => Promise<RunningService[]>): Promise<void> {
  let services: RunningService[];
  let settings: ServerConfig;
  try {
    services = await start();
    settings = loadConfig(ServerConfig, process.env);
  } catch (error) {
    if (error instanceof ConfigError) usageError(error.message);
    createLogger(name, ProcessConfig.shape.LOG_LEVEL.catch('info').parse(process.env.LOG_LEVEL)).fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
  const logger = createLogger(name, settings.LOG_LEVEL);
  const stopTracing = await startTracing(name, settings).catch((error: unknown) => {
    logger.error({ err: messageOf(error) }, 'tracing could not start; serving without it');
    return async () => {};
  });
  // Whatever escapes every handler is logged as JSON like everything else, then the process
  // ends: its state is unknown, and the orchestrator starts a fresh one.
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  for (const service of services) logger.info({ url: service.url, metricsUrl: service.metricsUrl }, `${service.name} listening`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainMs: settings.SHUTDOWN_DRAIN_MS }, 'shutting down');
    for (const service of services) service.drain();
    await new Promise((resolve) => setTimeout(resolve, settings.SHUTDOWN_DRAIN_MS));
    await Promise.allSettled(services.map((s) => s.close()));
    // The last spans go out before the process does.
    await stopTracing().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** True when the module at `importMetaUrl` is the program node was started with. */
export function isMainModule(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const path = new URL(importMetaUrl).pathname;
  return path === entry || path.replace(/\.ts$/, '') === entry.replace(/\.ts$/, '');
}
