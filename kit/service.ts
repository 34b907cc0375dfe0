import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';

export interface RunningService {
  name: string;
  /** Base URL of the listening server, e.g. http://127.0.0.1:4011 */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP shell every patchbay process shares: liveness, readiness and Prometheus
 * metrics next to whatever the service mounts.
 */
export function createServiceApp(options: { registry: Registry; ready?: () => boolean | Promise<boolean> }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ready = options.ready ? await options.ready() : true;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.registry.contentType).send(await options.registry.metrics());
  });
  return app;
}

/** Listens on host:port (port 0 picks a free one) and returns how to reach and stop it. */
export async function listen(
  name: string,
  handler: http.RequestListener,
  host: string,
  port: number,
  onClose: () => Promise<void> | void = () => {},
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
    async close() {
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
 * Runs one service as its own process: a bad configuration stops it with the message
 * naming each wrong variable; SIGINT and SIGTERM close it cleanly.
 */
export async function runProcess(start: () => Promise<RunningService[]>, logger: Logger): Promise<void> {
  let services: RunningService[];
  try {
    services = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
  for (const service of services) logger.info({ url: service.url }, `${service.name} listening`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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
