import type http from 'node:http';
import semver from 'semver';
import { readBody, type ReceivedBody } from '../kit/process/request-body.js';
import { usageError } from '../kit/process/cli.js';
import { messageOf } from '../kit/process/caught.js';
import { createLogger } from '../kit/process/logger.js';
import { createRegistry } from '../kit/process/metrics.js';
import { connectRedis } from '../kit/state/redis.js';
import { createServiceApp, isMainModule, listen, runProcess, type RunningService } from '../kit/process/service.js';
import { CLIENTS, clientByName, persistedManifestFile, type ClientConfig } from './clients/index.js';
import { errorResponse } from './responses.js';
import { readManifest } from './manifest.js';
import { createGatewayMetrics } from './metrics.js';
import { choosePlanner } from './planner.js';
import { redisPersistedQueryStore } from './persisted-query-store.js';
import { GRAPHQL_PATH, createGateway, type Policy } from './runtime.js';
import { clientVariable, loadGatewaySettings } from './settings.js';
import { openSupergraph } from './supergraph.js';
import { appVersionOf, invalidReleaseOperations, openReleases, releasesDir, type ServedReleases } from './releases.js';
import { safelistOperations, type SafelistOperations } from './plugins/safelist.js';
import { createSubscriptionPolicy } from './plugins/subscription-policy.js';
import { createVerifier } from './auth.js';
import { ReadAheadJson, isPostJson } from './plugins/json-bodies.js';
import { serveWebSockets } from './websockets.js';

/**
 * A body already read, as the engine's adapter takes it from `req.body`: a JSON one as text for
 * the JSON parser (plugins/json-bodies.ts), any other as an async iterable of its chunks, with
 * one key of its own. (Given a Buffer, the adapter lists every byte of it as an object key
 * before anything else runs: 90 KB cost an unauthenticated request 7 ms.)
 */
const alreadyRead = (req: http.IncomingMessage, body: ReceivedBody, jsonParser: boolean) =>
  jsonParser && isPostJson(req.method, req.headers['content-type'])
    ? new ReadAheadJson(body.buffer().toString('utf8'))
    : {
        size: body.size,
        async *[Symbol.asyncIterator]() {
          yield* body.chunks;
        },
      };

/** How long a client may take to send its body (at most the client's body limit). */
const BODY_TIMEOUT_MS = 30_000;

function sendResponse(res: http.ServerResponse, response: Response): void {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  void response.text().then((body) => res.end(body));
}

/**
 * Starts the gateway of one client: its schema, limits and policy come from its config and
 * environment (`without` leaves policies out, for the benchmark alone).
 */
export async function startGateway(
  client: ClientConfig,
  environment: NodeJS.ProcessEnv = process.env,
  { without }: { without?: ReadonlySet<Policy> } = {},
): Promise<RunningService> {
  const settings = loadGatewaySettings(client, environment);
  const logger = createLogger(`gateway-${client.name}`, settings.process.LOG_LEVEL);
  const registry = createRegistry(`gateway-${client.name}`);
  // Every supported release's operations beside the current ones: a phone that has not updated keeps working.
  const releases = openReleases(settings.releasesPath ?? releasesDir(client.name), {
    minimumOverride: settings.minimumAppVersion,
    variable: clientVariable(client, 'RELEASES_PATH'),
    logger,
    registry,
  });
  const manifest = settings.safelist ? readManifest(persistedManifestFile(client)) : undefined;
  const supergraphVariable = clientVariable(client, 'path' in settings.supergraph ? 'SUPERGRAPH_PATH' : 'SUPERGRAPH_URL');
  const supergraph = await openSupergraph(settings.supergraph, { variable: supergraphVariable, logger, registry });
  const { planner, why } = await choosePlanner(settings.process.QUERY_PLANNER);
  logger.info({ planner, why }, 'query planner');
  // With REDIS_URL, APQ registrations are shared by the replicas (a safelisted client has none).
  const redis =
    settings.process.REDIS_URL && !settings.safelist
      ? connectRedis(settings.process.REDIS_URL, { commandTimeoutMs: settings.process.REDIS_COMMAND_TIMEOUT_MS, logger, registry })
      : undefined;
  const persistedQueries = redis ? redisPersistedQueryStore(redis, client.name, logger, settings.persistedQueries) : undefined;
  const metrics = createGatewayMetrics(registry, client.name, manifest?.names ?? []);
  let served: ServedReleases;
  let operations: SafelistOperations | undefined;
  const serve = (next: ServedReleases) => {
    served = next;
    if (manifest) operations = safelistOperations(manifest, next);
    metrics.knowReleases(next.releases.versions, next.releases.names.values());
    if (next.releases.versions.length)
      logger.info({ releases: next.releases.versions, minimumAppVersion: next.minimumVersion }, 'releases served');
  };
  serve(releases.current());
  const safelist = manifest && {
    operations: () => operations!,
    onMismatch: (appVersion: string) => metrics.releaseMismatch(appVersion),
    onUpgradeRequired: () => metrics.upgradeRequired(),
  };
  const subscriptions = createSubscriptionPolicy(settings.subscriptions);
  metrics.openSubscriptions(subscriptions.open);
  const verify = createVerifier(settings.process, logger);
  const gateway = createGateway(settings, {
    logger,
    supergraph,
    planner,
    metrics,
    safelist,
    persistedQueries,
    subscriptions,
    verify,
    without,
  });
  // The engine's server adapter disposes itself on SIGTERM; this process drains first and
  // disposes it when it closes (kit/process/service.ts), so those listeners go.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    for (const listener of process.listeners(signal)) if (listener.name === 'terminateHandler') process.off(signal, listener);
  }
  // What the served releases ask for is checked against every schema served, so a release a
  // schema change broke is known at once (log, metric, /readyz detail), not from its users.
  let invalidReleases: ReturnType<typeof invalidReleaseOperations> = [];
  const checkReleases = async () => {
    invalidReleases = invalidReleaseOperations(served.releases, await gateway.getSchema());
    metrics.invalidReleaseOperations(invalidReleases.length);
    for (const invalid of invalidReleases) logger.error(invalid, 'a served release operation does not validate against the schema');
  };
  const recheckReleases = () =>
    void checkReleases().catch((error: unknown) => logger.warn({ err: messageOf(error) }, 'releases not checked'));
  supergraph.watch(() => {
    void gateway.invalidateUnifiedGraph();
    recheckReleases();
  });
  releases.watch((next) => {
    serve(next);
    recheckReleases();
  });
  // The first request should not pay for building the query planner's schema.
  await gateway.getSchema();
  await checkReleases();

  const service = createServiceApp({
    details: () => ({
      ...(redis ? { redis: redis.state() } : {}),
      ...(served.releases.versions.length
        ? {
            releases: {
              served: served.releases.versions,
              minimumAppVersion: served.minimumVersion,
              invalidOperations: invalidReleases.length,
            },
          }
        : {}),
    }),
  });
  const handle: http.RequestListener = (req, res) => {
    if ((req.url ?? '').split('?')[0] !== GRAPHQL_PATH) return service(req, res);
    const appVersion = appVersionOf(req.headers['x-app-version']?.toString());
    const minimumAppVersion = served.minimumVersion;
    if (minimumAppVersion && appVersion && semver.lt(appVersion, minimumAppVersion)) {
      metrics.upgradeRequired();
      // 200, as a GraphQL error: Apollo Kotlin and Apollo iOS hand it to the app in
      // `response.errors`, where a 4xx would be a transport exception without its body.
      return void sendResponse(
        res,
        errorResponse(
          req.headers.accept,
          200,
          `This app version (${appVersion}) is no longer supported: update to ${minimumAppVersion} or later`,
          'UPGRADE_REQUIRED',
          {},
          { minimumVersion: minimumAppVersion, appVersion },
        ),
      );
    }
    if (req.method !== 'POST') return void gateway(req, res);
    void readBody(req, { limit: settings.maxBodyBytes, timeoutMs: BODY_TIMEOUT_MS }).then((body) => {
      if (body === 'aborted') return res.destroy();
      if (body === 'timeout') {
        res.setHeader('connection', 'close');
        return sendResponse(res, errorResponse(req.headers.accept, 408, 'The request body was not sent in time', 'REQUEST_TIMEOUT'));
      }
      if (body === 'too-large') {
        metrics.refused('body_size');
        return sendResponse(
          res,
          errorResponse(req.headers.accept, 413, `Request body is larger than ${settings.maxBodyBytes} bytes`, 'PAYLOAD_TOO_LARGE'),
        );
      }
      Object.assign(req, { body: alreadyRead(req, body, !without?.has('json-bodies')) });
      void gateway(req, res);
    });
  };
  const websockets = serveWebSockets(gateway, {
    path: GRAPHQL_PATH,
    verify,
    limits: settings.subscriptions,
    logger,
    // As over HTTP: an app older than the minimum is told to update (4426: not retried by graphql-ws's client).
    refusal: (req) => {
      const appVersion = appVersionOf(req.headers['x-app-version']?.toString());
      const minimumAppVersion = served.minimumVersion;
      if (!minimumAppVersion || !appVersion || !semver.lt(appVersion, minimumAppVersion)) return undefined;
      metrics.upgradeRequired();
      return { code: 4426, reason: `UPGRADE_REQUIRED: update to ${minimumAppVersion} or later` };
    },
  });
  metrics.openWebSockets(websockets.connections);
  const close = async () => {
    await websockets.close();
    supergraph.close();
    releases.close();
    await gateway.dispose();
    await redis?.close();
  };
  return listen(`gateway ${client.name}`, service, settings.process.HOST, settings.port, {
    onClose: close,
    // Streams are told to reconnect (to another replica, with their last event id), not cut.
    onDrain: () => {
      subscriptions.drain();
      websockets.drain();
    },
    handler: handle,
    onUpgrade: websockets.upgrade,
    logger,
    metrics: { registry, port: settings.metricsPort },
  });
}

if (isMainModule(import.meta.url)) {
  const name = process.argv[2] ?? process.env.GATEWAY_CLIENT;
  const client = name ? clientByName(name) : undefined;
  if (!client)
    usageError(`Usage: npm run gateway -- <client>   (or GATEWAY_CLIENT=<client>); clients: ${CLIENTS.map((c) => c.name).join(', ')}`);
  await runProcess(`gateway-${client.name}`, async () => [await startGateway(client)]);
}
