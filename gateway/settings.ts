import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { z } from 'zod';
import type { SubscriptionLimits } from './plugins/subscription-policy.js';
import { ConfigError, ServerConfig, env, isProduction, loadAll, loadConfig, metricsPortOf } from '../kit/process/config.js';
import { InternalTokenConfig } from '../kit/caller/token.js';
import { RedisConfig } from '../kit/state/redis.js';
import { AuthConfig } from './auth.js';
import { clientSupergraphFile, type ClientConfig } from './clients/index.js';
import type { QueryLimits } from './clients/types.js';
import { DEFAULT_PERSISTED_QUERY_LIMITS, type PersistedQueryLimits } from './persisted-query-store.js';
import { envName } from '../kit/process/env-name.js';

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
const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
// `null` (opaque origins) only when named, literally.
const origins = list(
  z.string().regex(/^(?:https?:\/\/[^/\s]+|null)$/, 'must be a comma-separated list of origins like https://app.example.com'),
);
const appVersion = z.string().refine((value) => semver.valid(value) !== null, 'must be a version like 1.4.0');
const headerNames = list(
  z
    .string()
    .transform((name) => name.toLowerCase())
    .pipe(z.string().regex(/^[a-z0-9-]+$/, 'must be a comma-separated list of header names like accept-language')),
);

/**
 * One setting of a client's gateway: the variable that overrides it (`<CLIENT>_<variable>`),
 * what it does, and how it is read, its default taken from the client's file (or, when the
 * client has none, the same for every client).
 */
export interface ClientSetting<T> {
  variable: string;
  about: string;
  read: (client: ClientConfig, production: boolean) => z.ZodType<T, unknown>;
}
const setting = <T>(variable: string, about: string, read: ClientSetting<T>['read']): ClientSetting<T> => ({ variable, about, read });
/** On by the client's file, and never in production unless its variable says so. */
const developmentOnly = (on: (client: ClientConfig) => boolean) => (client: ClientConfig, production: boolean) =>
  env.bool(on(client) && !production);

/**
 * Every setting of a client's gateway, one row each: the environment schema, the typed
 * settings and the README's table come from these tables. What a client's file declares and
 * no variable changes (its contract, its safelist's manifest, @defer) shapes the schema it is
 * served, which is composed and checked before deployment.
 */
export const CLIENT_SETTINGS = {
  port: setting('GATEWAY_PORT', 'where its clients reach it', (client) => env.port(client.defaultPort)),
  safelist: setting('SAFELIST', 'only the operations of its persisted query manifest run', (client) => env.bool(client.safelist)),
  introspection: setting(
    'INTROSPECTION',
    'the schema can be introspected; off in production unless set',
    developmentOnly((client) => client.introspection),
  ),
  fieldSuggestions: setting(
    'FIELD_SUGGESTIONS',
    'validation errors suggest field names; off in production unless set',
    developmentOnly((client) => client.fieldSuggestions),
  ),
  ide: setting(
    'IDE',
    'GraphiQL on GET from a browser; off in production unless set',
    developmentOnly((client) => client.ide),
  ),
  corsOrigins: setting(
    'CORS_ORIGINS',
    'browser origins answered with CORS headers (`null` only when listed literally); production: required where the file lists local ones',
    (client) =>
      // Browser origins: the local ones are for development; a deployment names its own.
      client.corsOrigins.length ? env.local(origins.default([...client.corsOrigins])) : origins.default([]),
  ),
  forwardHeaders: setting('FORWARD_HEADERS', 'client request headers passed on to the subgraphs; no others are', (client) =>
    headerNames.default([...client.forwardHeaders]),
  ),
  maxBodyBytes: setting('MAX_BODY_BYTES', 'largest request body', (client) => count(client.maxBodyBytes, 10 * 2 ** 20)),
  subgraphTimeoutMs: setting('SUBGRAPH_TIMEOUT_MS', 'time one subgraph call may take before its fields fail', (client) =>
    count(client.subgraphTimeoutMs, 120_000),
  ),
  releasesPath: setting(
    'RELEASES_PATH',
    "the directory of its releases, each shipped app version's operations (`<version>.json`), served by id beside the current ones, watched (a change applies without a restart); none: `clients/<client>/releases/`",
    () => z.string().min(1).optional(),
  ),
  minimumAppVersion: setting(
    'MIN_APP_VERSION',
    'an app older than this (`x-app-version`) is answered `UPGRADE_REQUIRED` before anything runs, overriding `releases.json` (an emergency); none: the committed minimum',
    () => appVersion.optional(),
  ),
};

/** What one operation may cost: each of QueryLimits (clients/types.ts), overridable. */
export const LIMIT_SETTINGS = {
  depth: setting('MAX_DEPTH', 'deepest field nesting', (client) => count(client.limits.depth, 100)),
  aliases: setting('MAX_ALIASES', 'aliases in one operation', (client) => count(client.limits.aliases, 1000)),
  tokens: setting('MAX_TOKENS', 'lexical tokens in one document', (client) => count(client.limits.tokens, 100_000)),
  selections: setting('MAX_SELECTIONS', 'selections, fragments expanded', (client) => count(client.limits.selections, 100_000)),
  fieldRepeats: setting('MAX_FIELD_REPEATS', 'times one response key may be selected at one place', (client) =>
    count(client.limits.fieldRepeats, 1000),
  ),
  cost: setting('MAX_COST', 'most estimated cost', (client) => count(client.limits.cost)),
  costMode: setting('COST_MODE', '`enforce` refuses over the cost; `measure` only reports it', (client) =>
    z.enum(['enforce', 'measure'], { error: 'must be enforce or measure' }).default(client.limits.costMode),
  ),
  listSize: setting('LIST_SIZE', 'items assumed for a list field without @listSize', (client) => count(client.limits.listSize, 10_000)),
  documentChars: setting('MAX_DOCUMENT_CHARS', 'characters of one document', (client) => count(client.limits.documentChars, 10 * 2 ** 20)),
  variableDepth: setting('MAX_VARIABLE_DEPTH', 'nesting of the variables', (client) => count(client.limits.variableDepth)),
  variableValues: setting('MAX_VARIABLE_VALUES', 'values in the variables', (client) => count(client.limits.variableValues)),
  variableChars: setting('MAX_VARIABLE_CHARS', 'characters of the variables', (client) => count(client.limits.variableChars, 10 * 2 ** 20)),
} satisfies { [K in keyof QueryLimits]: ClientSetting<QueryLimits[K]> };

/** What APQ registrations may cost a gateway without a safelist: the same for every client. */
export const PERSISTED_QUERY_SETTINGS = {
  memoryBytes: setting('APQ_MEMORY_BYTES', 'APQ registrations kept per process', () =>
    count(DEFAULT_PERSISTED_QUERY_LIMITS.memoryBytes, 2 ** 30),
  ),
  callerBytes: setting('APQ_CALLER_BYTES', 'APQ registrations per caller per TTL window (every replica together with Redis)', () =>
    count(DEFAULT_PERSISTED_QUERY_LIMITS.callerBytes, 2 ** 30),
  ),
  totalBytes: setting('APQ_TOTAL_BYTES', 'APQ registrations in all per TTL window', () =>
    count(DEFAULT_PERSISTED_QUERY_LIMITS.totalBytes, 2 ** 34),
  ),
  ttlSeconds: setting('APQ_TTL_SECONDS', 'how long a registration lives', () =>
    count(DEFAULT_PERSISTED_QUERY_LIMITS.ttlSeconds, 30 * 86_400),
  ),
} satisfies { [K in keyof PersistedQueryLimits]: ClientSetting<PersistedQueryLimits[K]> };

/** What a client's subscriptions may hold of a gateway replica. */
export const SUBSCRIPTION_SETTINGS = {
  perUser: setting('MAX_SUBSCRIPTIONS_PER_USER', 'subscriptions one user may hold open on one gateway replica', () => count(20, 10_000)),
  lifetimeMs: setting(
    'SUBSCRIPTION_LIFETIME_MS',
    'longest a subscription stays open; then it ends with `RECONNECT` and the client resumes after its last event id',
    () => count(3_600_000, 86_400_000),
  ),
  perConnection: setting('MAX_SUBSCRIPTIONS_PER_CONNECTION', 'subscriptions one WebSocket (graphql-ws) may carry at once', () =>
    count(10, 1_000),
  ),
  idleMs: setting('WEBSOCKET_IDLE_MS', 'how long a WebSocket without a subscription stays open before it is closed', () =>
    count(60_000, 3_600_000),
  ),
} satisfies { [K in keyof SubscriptionLimits]: ClientSetting<SubscriptionLimits[K]> };

const TABLES = [CLIENT_SETTINGS, LIMIT_SETTINGS, PERSISTED_QUERY_SETTINGS, SUBSCRIPTION_SETTINGS] as const;
/** Every client setting, in the order of the README's table. */
export const ALL_CLIENT_SETTINGS: ReadonlyArray<ClientSetting<unknown>> = TABLES.flatMap((table) => Object.values(table));

type ReadFrom<Table> = { -readonly [K in keyof Table]: Table[K] extends ClientSetting<infer T> ? T : never };
const schemaOf = (table: Record<string, ClientSetting<unknown>>, client: ClientConfig, production: boolean) =>
  Object.fromEntries(Object.values(table).map((row) => [row.variable, row.read(client, production)]));
/** One table's settings from the variables read. */
const readFrom = <Table extends Record<string, ClientSetting<unknown>>>(table: Table, read: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(table).map(([field, row]) => [field, read[row.variable]])) as ReadFrom<Table>;

/**
 * A client's own settings, read from `<CLIENT>_<NAME>` variables (WEB_MAX_COST, ...), so one
 * environment can hold those of every client: the tables above, and where its supergraph comes from.
 */
export function clientSchema(client: ClientConfig, production: boolean) {
  return z.object({
    ...TABLES.reduce((shape, table) => ({ ...shape, ...schemaOf(table, client, production) }), {}),
    METRICS_PORT: env.metricsPort(),
    /** The supergraph file, watched for changes (the client's composed one by default); or SUPERGRAPH_URL, polled. */
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    SUPERGRAPH_URL: env.url().optional(),
    SUPERGRAPH_POLL_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(1000).max(3_600_000).default(10_000),
  });
}

export type GatewaySettings = ReadFrom<typeof CLIENT_SETTINGS> & {
  process: z.infer<typeof GatewayConfig>;
  client: ClientConfig;
  /** Where /metrics is served: a port of its own, off the one clients reach. */
  metricsPort: number;
  /** Where the supergraph comes from: a file (watched) or a URL (polled). */
  supergraph: { path: string } | { url: string; pollMs: number };
  limits: QueryLimits;
  /** What APQ registrations may cost (a client without a safelist). */
  persistedQueries: PersistedQueryLimits;
  subscriptions: SubscriptionLimits;
  /** Subgraph URLs to use instead of the supergraph's, by variable (`<NAME>_SUBGRAPH_URL`, see subgraphUrlVariable). */
  subgraphUrls: Record<string, string>;
};

const SUBGRAPH_URL = /^([A-Z0-9_]+)_SUBGRAPH_URL$/;

/** `<NAME>_SUBGRAPH_URL` of a subgraph name as the supergraph spells it (`user-profiles` → USER_PROFILES). */
export const subgraphUrlVariable = (subgraph: string) => envName(subgraph, 'SUBGRAPH_URL');

/** Every `<NAME>_SUBGRAPH_URL` set, validated, by its variable's name. */
function subgraphUrlOverrides(environment: NodeJS.ProcessEnv): Record<string, string> {
  const variables = Object.keys(environment).filter((key) => SUBGRAPH_URL.test(key) && environment[key]);
  const shape = Object.fromEntries(variables.map((key) => [key, env.url()]));
  return loadConfig(z.object(shape), environment);
}

type ClientVariable =
  'METRICS_PORT' | 'SUPERGRAPH_PATH' | 'SUPERGRAPH_URL' | 'SUPERGRAPH_POLL_MS' | (typeof ALL_CLIENT_SETTINGS)[number]['variable'];

/** `WEB_MAX_COST`: the variable of one client's own setting (with '', the prefix they share). */
export const clientVariable = (client: { name: string }, setting: ClientVariable | '') => `${envName(client.name)}_${setting}`;

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
  const settings = readFrom(CLIENT_SETTINGS, own);
  return {
    ...settings,
    // A manifest to hold the client to: only a client that has one can be safelisted.
    safelist: settings.safelist && client.safelist,
    process: processConfig,
    client,
    metricsPort: metricsPortOf(settings.port, own.METRICS_PORT, clientVariable(client, 'METRICS_PORT')),
    supergraph: own.SUPERGRAPH_URL
      ? { url: own.SUPERGRAPH_URL, pollMs: own.SUPERGRAPH_POLL_MS }
      : { path: own.SUPERGRAPH_PATH ?? fileURLToPath(clientSupergraphFile(client)) },
    limits: readFrom(LIMIT_SETTINGS, own),
    persistedQueries: readFrom(PERSISTED_QUERY_SETTINGS, own),
    subscriptions: readFrom(SUBSCRIPTION_SETTINGS, own),
    subgraphUrls: overrides,
  };
}
