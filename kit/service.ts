import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { usageError } from './cli.js';
import { ConfigError, loadConfig } from './config.js';
import type { Logger } from './logger.js';

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

/** Listens on host:port (port 0 picks a free one) and returns how to reach and stop it. */
export async function listen(
  name: string,
  app: Express,
  host: string,
  port: number,
  onClose: () => Promise<void> | void = () => {},
): Promise<RunningService> {
  const server = http.createServer(app);
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

const ShutdownConfig = z.object({
  /**
   * How long a stopping process keeps serving while /readyz says "draining", so the load
   * balancer takes it out of rotation before it closes (a few seconds behind Kubernetes).
   */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(0),
});

/**
 * Runs one service as its own process: a bad configuration stops it with the message
 * naming each wrong variable; SIGINT and SIGTERM drain it, then close it cleanly.
 */
export async function runProcess(start: () => Promise<RunningService[]>, logger: Logger): Promise<void> {
  let services: RunningService[];
  let drainMs: number;
  try {
    drainMs = loadConfig(ShutdownConfig, process.env).SHUTDOWN_DRAIN_MS;
    services = await start();
  } catch (error) {
    if (error instanceof ConfigError) usageError(error.message);
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
  for (const service of services) logger.info({ url: service.url }, `${service.name} listening`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainMs }, 'shutting down');
    for (const service of services) service.drain();
    await new Promise((resolve) => setTimeout(resolve, drainMs));
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
