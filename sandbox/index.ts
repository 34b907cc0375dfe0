import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { ServerConfig, env, loadConfig } from '../kit/config.js';
import { LOCAL, localUrl } from '../kit/local-defaults.js';
import { createLogger } from '../kit/logger.js';
import { isMainModule, listen, runProcess, type RunningService } from '../kit/service.js';
import { createAccountsSandbox } from './accounts.js';
import { createAnalyticsSandbox } from './analytics.js';
import type { FaultRule } from './faults.js';
import type { ProviderApp } from './provider.js';
import { createPostmarkSandbox } from './postmark.js';
import { createS3Sandbox } from './s3.js';
import { generateSeed } from './seed.js';
import { createSendgridSandbox } from './sendgrid.js';

const SandboxConfig = ServerConfig.extend({
  // Fake providers with committed credentials: never part of a deployment.
  NODE_ENV: ServerConfig.shape.NODE_ENV.refine((value) => value !== 'production', {
    error: 'the sandbox is for local development and tests; it does not run with NODE_ENV=production',
  }),
  SANDBOX_SEED: z.coerce.number().int().default(42),
  SANDBOX_USERS: z.coerce.number().int().min(1).max(100_000).default(1200),
  SANDBOX_ACCOUNTS_PORT: env.port(LOCAL.ports.sandbox.accounts),
  SANDBOX_EMAIL_PORT: env.port(LOCAL.ports.sandbox.email),
  SANDBOX_STORAGE_PORT: env.port(LOCAL.ports.sandbox.storage),
  SANDBOX_ANALYTICS_PORT: env.port(LOCAL.ports.sandbox.analytics),
  SANDBOX_POSTMARK_PORT: env.port(LOCAL.ports.sandbox.postmark),
  /** The email subgraph the email providers post delivery webhooks to. */
  SANDBOX_WEBHOOKS_TO: env.url().default(localUrl(LOCAL.ports.email)),
});

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
  const config = loadConfig(SandboxConfig, environment);
  const seed = generateSeed({ seed: config.SANDBOX_SEED, users: config.SANDBOX_USERS });
  const logger = createLogger('sandbox', config.LOG_LEVEL);

  const providers = {
    accounts: createAccountsSandbox({ users: seed.users, token: LOCAL.accounts.token }),
    email: createSendgridSandbox({
      messages: seed.messages,
      bounces: seed.bounces,
      apiKey: LOCAL.sendgrid.apiKey,
      webhookPrivateKey: LOCAL.webhooks.sendgridPrivateKey,
    }),
    storage: createS3Sandbox({
      bucket: LOCAL.s3.bucket,
      region: LOCAL.s3.region,
      credentials: { accessKeyId: LOCAL.s3.accessKeyId, secretAccessKey: LOCAL.s3.secretAccessKey },
      files: seed.files,
    }),
    analytics: createAnalyticsSandbox({
      events: seed.events,
      writeKey: LOCAL.segment.writeKey,
      serviceAccount: LOCAL.mixpanel.serviceAccount,
      projectId: LOCAL.mixpanel.projectId,
    }),
    postmark: createPostmarkSandbox({
      serverToken: LOCAL.postmark.serverToken,
      webhookUser: LOCAL.webhooks.postmarkUser,
      webhookPassword: LOCAL.webhooks.postmarkPassword,
    }),
  };
  const ports: Record<keyof typeof providers, number> = {
    accounts: config.SANDBOX_ACCOUNTS_PORT,
    email: config.SANDBOX_EMAIL_PORT,
    storage: config.SANDBOX_STORAGE_PORT,
    analytics: config.SANDBOX_ANALYTICS_PORT,
    postmark: config.SANDBOX_POSTMARK_PORT,
  };

  const running: Record<string, RunningService> = {};
  try {
    for (const [name, provider] of Object.entries(providers) as Array<[keyof typeof providers, ProviderApp]>) {
      provider.app.use(providerErrors);
      running[name] = await listen(`sandbox ${name}`, provider.app, config.HOST, ports[name], { logger });
    }
  } catch (error) {
    await Promise.all(Object.values(running).map((s) => s.close()));
    throw error;
  }
  const url = (name: keyof typeof providers) => running[name]!.url;
  providers.email.deliverWebhooksTo(`${config.SANDBOX_WEBHOOKS_TO}/webhooks/sendgrid`);
  providers.postmark.deliverWebhooksTo(`${config.SANDBOX_WEBHOOKS_TO}/webhooks/postmark`);

  return {
    seed,
    providers,
    services: Object.values(running),
    url,
    /** Environment that points every subgraph at this sandbox. */
    env: (): Record<string, string> => ({
      ACCOUNTS_API_URL: url('accounts'),
      SENDGRID_API_URL: url('email'),
      POSTMARK_API_URL: url('postmark'),
      S3_ENDPOINT: url('storage'),
      SEGMENT_API_URL: url('analytics'),
      MIXPANEL_API_URL: `${url('analytics')}/api/query`,
      // The sandbox does not limit queries; real Mixpanel allows 60 an hour.
      MIXPANEL_QUERIES_PER_HOUR: '0',
    }),
    /** Sends the email providers' delivery webhooks to an email subgraph (its base URL). */
    deliverWebhooksTo(emailSubgraphUrl: string | undefined) {
      providers.email.deliverWebhooksTo(emailSubgraphUrl && `${emailSubgraphUrl}/webhooks/sendgrid`);
      providers.postmark.deliverWebhooksTo(emailSubgraphUrl && `${emailSubgraphUrl}/webhooks/postmark`);
    },
    /** Upstream calls seen by each provider since the last reset. */
    calls: () =>
      Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, p.calls.byOperation()])) as Record<
        keyof typeof providers,
        Record<string, number>
      >,
    resetCalls: () => Object.values(providers).forEach((p) => p.calls.reset()),
    /** Replaces the fault rules of one provider (an empty list clears them). */
    faults: (name: keyof typeof providers, rules: FaultRule[]) => providers[name].faults.set(rules),
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
