import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { usageError } from './cli.js';
import { ConfigError, ProcessConfig, ServerConfig, loadConfig } from './config.js';
import { createLogger } from './logger.js';

export interface RunningService {
  name: string;
  /** Base URL of the listening server, e.g. http://127.0.0.1:4011 */
  url: string;
  port: number;
  /** Reports not-ready on /readyz from now on, while still serving. */
  drain(): void;
  /** Stops taking connections, lets open requests finish, then releases resources. */
  close(): Promise<void>;
}

/**
 * The HTTP shell every patchbay process shares: liveness, readiness and Prometheus
 * metrics next to whatever the service mounts.
 *
 * Readiness means "this process can serve": started and not shutting down. It does not
 * follow upstream health: a provider outage already fails only the fields it backs, and
 * taking every replica out of rotation for it would fail them all. What the process knows
 * about its upstreams (breaker states) is reported in the body for operators.
 */
export function createServiceApp(options: { registry: Registry; details?: () => Record<string, unknown> }): Express {
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
  app.get('/metrics', async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  return app;
}

/**
 * Listens on host:port (port 0 picks a free one) and returns how to reach and stop it.
 * `app` is the service shell (its /readyz reports draining); `handler`, when given, takes
 * every request first and hands the shell what it does not serve itself.
 */
export async function listen(
  name: string,
  app: Express,
  host: string,
  port: number,
  onClose: () => Promise<void> | void = () => {},
  handler: http.RequestListener = app,
): Promise<RunningService> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    name,
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    drain() {
      app.locals.draining = true;
    },
    async close() {
      app.locals.draining = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
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
  for (const service of services) logger.info({ url: service.url }, `${service.name} listening`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainMs: settings.SHUTDOWN_DRAIN_MS }, 'shutting down');
    for (const service of services) service.drain();
    await new Promise((resolve) => setTimeout(resolve, settings.SHUTDOWN_DRAIN_MS));
    await Promise.allSettled(services.map((s) => s.close()));
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
