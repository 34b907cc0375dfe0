import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, ServerConfig, env, isProduction, loadAll, loadConfig, metricsPortOf } from '../kit/config.js';
import { InternalTokenConfig } from '../kit/caller.js';
import { RedisConfig } from '../kit/redis.js';
import { AuthConfig } from './auth.js';
import { clientSupergraphFile, type ClientConfig } from './clients/index.js';
import type { QueryLimits } from './clients/types.js';
import { DEFAULT_PERSISTED_QUERY_LIMITS, type PersistedQueryLimits } from './persisted-query-store.js';
import { envName } from '../kit/env-name.js';

/** What every gateway process reads, whatever its client. */
export const GatewayConfig = ServerConfig.extend(AuthConfig.shape)
  .extend(RedisConfig.shape)
  .extend(InternalTokenConfig.shape)
  .extend({
    /**
     * Who plans queries: Hive's Rust query planner (`rust`, a native addon shipped in its npm
     * package) or the engine's JavaScript planner (`js`); unset, Rust where it has a build.
     */
    QUERY_PLANNER: z.enum(['rust', 'js'], { error: 'must be rust or js' }).optional(),
  });

const count = (fallback: number, max = 1_000_000) =>
  z.coerce.number({ error: 'must be a whole number' }).int().min(1).max(max).default(fallback);
const origins = z
  .string()
  .transform((list) =>
    list
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      // `null` (opaque origins) only when named, literally.
      z.string().regex(/^(?:https?:\/\/[^/\s]+|null)$/, 'must be a comma-separated list of origins like https://app.example.com'),
    ),
  );

/**
 * A client's own settings, read from `<CLIENT>_<NAME>` variables (WEB_MAX_COST, ...), so one
 * environment can hold those of every client. The defaults come from the client's config.
 */
export function clientSchema(client: ClientConfig, production: boolean) {
  const { limits } = client;
  const developmentOnly = (value: boolean) => value && !production;
  return z.object({
    GATEWAY_PORT: env.port(client.defaultPort),
    METRICS_PORT: env.metricsPort(),
    /** The supergraph file, watched for changes (the client's composed one by default); or SUPERGRAPH_URL, polled. */
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    SUPERGRAPH_URL: env.url().optional(),
    SUPERGRAPH_POLL_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(1000).max(3_600_000).default(10_000),
    SAFELIST: env.bool(client.safelist !== undefined),
    INTROSPECTION: env.bool(developmentOnly(client.introspection)),
    IDE: env.bool(developmentOnly(client.ide)),
    // Browser origins: the local ones are for development; a deployment names its own.
    CORS_ORIGINS: client.corsOrigins.length ? env.local(origins.default([...client.corsOrigins])) : origins.default([]),
    MAX_DEPTH: count(limits.depth, 100),
    MAX_ALIASES: count(limits.aliases, 1000),
    MAX_TOKENS: count(limits.tokens, 100_000),
    MAX_SELECTIONS: count(limits.selections, 100_000),
    MAX_FIELD_REPEATS: count(limits.fieldRepeats, 1000),
    MAX_COST: count(limits.cost),
    COST_MODE: z.enum(['enforce', 'measure'], { error: 'must be enforce or measure' }).default(limits.costMode),
    LIST_SIZE: count(limits.listSize, 10_000),
    MAX_DOCUMENT_CHARS: count(limits.documentChars, 10 * 2 ** 20),
    MAX_VARIABLE_DEPTH: count(limits.variableDepth),
    MAX_VARIABLE_VALUES: count(limits.variableValues),
    MAX_VARIABLE_CHARS: count(limits.variableChars, 10 * 2 ** 20),
    MAX_BODY_BYTES: count(client.maxBodyBytes, 10 * 2 ** 20),
    SUBGRAPH_TIMEOUT_MS: count(client.subgraphTimeoutMs, 120_000),
    APQ_MEMORY_BYTES: count(DEFAULT_PERSISTED_QUERY_LIMITS.memoryBytes, 2 ** 30),
    APQ_CALLER_BYTES: count(DEFAULT_PERSISTED_QUERY_LIMITS.callerBytes, 2 ** 30),
    APQ_TOTAL_BYTES: count(DEFAULT_PERSISTED_QUERY_LIMITS.totalBytes, 2 ** 34),
    APQ_TTL_SECONDS: count(DEFAULT_PERSISTED_QUERY_LIMITS.ttlSeconds, 30 * 86_400),
  });
}

export interface GatewaySettings {
  process: z.infer<typeof GatewayConfig>;
  client: ClientConfig;
  port: number;
  /** Where /metrics is served: a port of its own, off the one clients reach. */
  metricsPort: number;
  /** Where the supergraph comes from: a file (watched) or a URL (polled). */
  supergraph: { path: string } | { url: string; pollMs: number };
  safelist: boolean;
  introspection: boolean;
  fieldSuggestions: boolean;
  ide: boolean;
  corsOrigins: string[];
  limits: QueryLimits;
  maxBodyBytes: number;
  subgraphTimeoutMs: number;
  /** What APQ registrations may cost (a client without a safelist). */
  persistedQueries: PersistedQueryLimits;
  /** Subgraph URLs to use instead of the supergraph's, by variable (`<NAME>_SUBGRAPH_URL`, see subgraphUrlVariable). */
  subgraphUrls: Record<string, string>;
}

const SUBGRAPH_URL = /^([A-Z0-9_]+)_SUBGRAPH_URL$/;

/** `<NAME>_SUBGRAPH_URL` of a subgraph name as the supergraph spells it (`user-profiles` → USER_PROFILES). */
export const subgraphUrlVariable = (subgraph: string) => envName(subgraph, 'SUBGRAPH_URL');

/** Every `<NAME>_SUBGRAPH_URL` set, validated, by its variable's name. */
function subgraphUrlOverrides(environment: NodeJS.ProcessEnv): Record<string, string> {
  const variables = Object.keys(environment).filter((key) => SUBGRAPH_URL.test(key) && environment[key]);
  const shape = Object.fromEntries(variables.map((key) => [key, env.url()]));
  return loadConfig(z.object(shape), environment);
}

type ClientSetting = keyof z.infer<ReturnType<typeof clientSchema>>;

/** `WEB_MAX_COST`: the variable of one client's own setting (with '', the prefix they share). */
export const clientVariable = (client: { name: string }, setting: ClientSetting | '') => `${envName(client.name)}_${setting}`;

/** Reads and validates the settings of one client's gateway, reporting every bad value at once. */
export function loadGatewaySettings(client: ClientConfig, environment: NodeJS.ProcessEnv): GatewaySettings {
  const production = isProduction(environment);
  const [processConfig, own, overrides] = loadAll(
    () => loadConfig(GatewayConfig, environment),
    () => loadConfig(clientSchema(client, production), environment, clientVariable(client, '')),
    () => subgraphUrlOverrides(environment),
  );
  if (own.SUPERGRAPH_URL && own.SUPERGRAPH_PATH) {
    throw new ConfigError([
      `${clientVariable(client, 'SUPERGRAPH_URL')}: set it or ${clientVariable(client, 'SUPERGRAPH_PATH')}, not both`,
    ]);
  }
  return {
    process: processConfig,
    client,
    port: own.GATEWAY_PORT,
    metricsPort: metricsPortOf(own.GATEWAY_PORT, own.METRICS_PORT, clientVariable(client, 'METRICS_PORT')),
    supergraph: own.SUPERGRAPH_URL
      ? { url: own.SUPERGRAPH_URL, pollMs: own.SUPERGRAPH_POLL_MS }
      : { path: own.SUPERGRAPH_PATH ?? fileURLToPath(clientSupergraphFile(client)) },
    safelist: own.SAFELIST && client.safelist !== undefined,
    introspection: own.INTROSPECTION,
    fieldSuggestions: client.fieldSuggestions && !production,
    ide: own.IDE,
    corsOrigins: own.CORS_ORIGINS,
    limits: {
      depth: own.MAX_DEPTH,
      aliases: own.MAX_ALIASES,
      tokens: own.MAX_TOKENS,
      selections: own.MAX_SELECTIONS,
      fieldRepeats: own.MAX_FIELD_REPEATS,
      cost: own.MAX_COST,
      costMode: own.COST_MODE,
      listSize: own.LIST_SIZE,
      documentChars: own.MAX_DOCUMENT_CHARS,
      variableDepth: own.MAX_VARIABLE_DEPTH,
      variableValues: own.MAX_VARIABLE_VALUES,
      variableChars: own.MAX_VARIABLE_CHARS,
    },
    maxBodyBytes: own.MAX_BODY_BYTES,
    subgraphTimeoutMs: own.SUBGRAPH_TIMEOUT_MS,
    persistedQueries: {
      memoryBytes: own.APQ_MEMORY_BYTES,
      callerBytes: own.APQ_CALLER_BYTES,
      totalBytes: own.APQ_TOTAL_BYTES,
      ttlSeconds: own.APQ_TTL_SECONDS,
    },
    subgraphUrls: overrides,
  };
}
