import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { ServerConfig, env, loadAll, loadConfig, loadEach } from '../kit/process/config.js';
import { localUrl } from '../kit/process/local-defaults.js';
import { createLogger } from '../kit/process/logger.js';
import { isMainModule, listen, runProcess, type RunningService } from '../kit/process/service.js';
import {
  PROVIDERS,
  REGISTRY,
  SUBGRAPH_NAMES,
  providerEntry,
  sandboxPortVariable,
  type ProviderName,
  type SubgraphName,
} from '../subgraphs/registry.js';
import type { FaultRule } from './faults.js';
import { SandboxCredentials } from './credentials.js';
import { SANDBOX_PROVIDERS } from './providers.js';
import { generateSeed } from './seed.js';
import { envName } from '../kit/process/env-name.js';

/** `SANDBOX_EMAIL_WEBHOOKS_URL`: the subgraph a provider posts its delivery webhooks to. */
export const webhooksUrlVariable = (subgraph: string) => envName('SANDBOX', subgraph, 'WEBHOOKS_URL');

export const SandboxConfig = ServerConfig.extend({
  // Fake providers with committed credentials: never part of a deployment.
  NODE_ENV: ServerConfig.shape.NODE_ENV.refine((value) => value !== 'production', {
    error: 'the sandbox is for local development and tests; it does not run with NODE_ENV=production',
  }),
  SANDBOX_SEED: z.coerce.number().int().default(42),
  SANDBOX_USERS: z.coerce.number().int().min(1).max(100_000).default(1200),
});

/** Each provider's port and each subgraph's webhook target, as the registry names them. */
function loadSandboxConfig(environment: NodeJS.ProcessEnv) {
  const [config, credentials, ports, webhookTargets] = loadAll(
    () => loadConfig(SandboxConfig, environment),
    () => loadConfig(SandboxCredentials, environment),
    () =>
      loadEach(
        PROVIDERS.map((p) => p.name),
        sandboxPortVariable,
        (name) => env.port(providerEntry(name).sandboxPort),
        environment,
      ),
    () => loadEach(SUBGRAPH_NAMES, webhooksUrlVariable, (name) => env.url().default(localUrl(REGISTRY[name].port)), environment),
  );
  return { ...config, credentials, ports, webhookTargets };
}

/** Bad JSON or an oversized body: answered in a generic JSON shape, never with a stack. */
const providerErrors: ErrorRequestHandler = (error, req, res, _next) => {
  const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 600 ? error.status : 500;
  if (res.headersSent) return res.end();
  res
    .status(status)
    .json(
      req.path.startsWith('/v3')
        ? { errors: [{ message: status === 413 ? 'content too large' : 'bad request', field: null }] }
        : { error: status === 413 ? 'payload too large' : status === 500 ? 'internal error' : 'bad request' },
    );
};

export type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

/** Starts every sandbox provider, each on its own port, over one deterministic seed. */
export async function startSandbox(environment: NodeJS.ProcessEnv = process.env) {
  const config = loadSandboxConfig(environment);
  const seed = generateSeed({ seed: config.SANDBOX_SEED, users: config.SANDBOX_USERS });
  const logger = createLogger('sandbox', config.LOG_LEVEL);

  // The providers share one copy of the seed's events (what Segment ingests, Mixpanel sees); `seed` stays as generated.
  const working = { ...seed, events: [...seed.events] };
  const providers = Object.fromEntries(
    Object.entries(SANDBOX_PROVIDERS).map(([name, definition]) => [name, definition.create(working, config.credentials)]),
  ) as { [name in keyof typeof SANDBOX_PROVIDERS]: ReturnType<(typeof SANDBOX_PROVIDERS)[name]['create']> };

  const running: Record<string, RunningService> = {};
  try {
    for (const { name } of PROVIDERS) {
      const provider = providers[name];
      provider.app.use(providerErrors);
      running[name] = await listen(`sandbox ${name}`, provider.app, config.HOST, config.ports[name], { logger });
    }
  } catch (error) {
    await Promise.all(Object.values(running).map((s) => s.close()));
    throw error;
  }
  const url = (name: ProviderName) => running[name]!.url;
  /** Points the providers of `subgraph` that post webhooks at its base URL (none: they stop). */
  const deliverWebhooksTo = (subgraph: SubgraphName, baseUrl: string | undefined) => {
    for (const { name } of PROVIDERS.filter((p) => p.subgraph === subgraph)) {
      const path = SANDBOX_PROVIDERS[name].webhookPath;
      if (path) providers[name].deliverWebhooksTo?.(baseUrl && `${baseUrl}${path}`);
    }
  };
  for (const subgraph of SUBGRAPH_NAMES) deliverWebhooksTo(subgraph, config.webhookTargets[subgraph]);

  return {
    seed,
    providers,
    services: Object.values(running),
    url,
    /** Environment that points every subgraph at this sandbox. */
    env: (): Record<string, string> => Object.assign({}, ...PROVIDERS.map((p) => SANDBOX_PROVIDERS[p.name].env(url(p.name)))),
    deliverWebhooksTo,
    /** Upstream calls seen by each provider since the last reset. */
    calls: () =>
      Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, p.calls.byOperation()])) as Record<
        ProviderName,
        Record<string, number>
      >,
    resetCalls: () => Object.values(providers).forEach((p) => p.calls.reset()),
    /**
     * How long, since the last reset, at least one upstream call was in flight (ms): the union of
     * every provider's calls, so parallel calls count once and sequential ones add up. For one
     * request at a time, the longest chain of sequential upstream calls: its critical path.
     */
    upstreamBusyMs: () => {
      const spans = Object.values(providers)
        .flatMap((p) => p.calls.inFlightSpans())
        .filter(([, end]) => end !== Infinity)
        .toSorted((a, b) => a[0] - b[0]);
      let busy = 0;
      let reach = -Infinity;
      for (const [start, end] of spans) {
        if (end <= reach) continue;
        busy += end - Math.max(start, reach);
        reach = end;
      }
      return busy;
    },
    /** Replaces the fault rules of one provider (an empty list clears them). */
    faults: (name: ProviderName, rules: FaultRule[]) => providers[name].faults.set(rules),
    clearFaults: () => Object.values(providers).forEach((p) => p.faults.clear()),
    close: async () => {
      Object.values(providers).forEach((p) => p.faults.clear());
      await Promise.all(Object.values(running).map((s) => s.close()));
    },
  };
}

if (isMainModule(import.meta.url)) {
  await runProcess('sandbox', async () => (await startSandbox()).services);
}
