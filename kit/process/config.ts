import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { COMMITTED_SECRETS } from './committed-secrets.js';

/** Thrown when the environment does not satisfy a program's configuration schema. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A setting whose default exists for local development only (a sandbox URL, a committed
 * credential). With NODE_ENV=production it must be set, unless a production default is
 * declared (a provider's public API URL) or the setting is made redundant by another one.
 */
interface LocalOnly {
  secret: boolean;
  /** A secret's committed local value: refused in production, like those of COMMITTED_SECRETS. */
  local?: string;
  production?: string;
  /** Another variable that, when set, makes this one unnecessary (JWT_JWKS_URL for JWT_SECRET). */
  unlessSet?: string;
  /** Whether the setting is needed at all, given the others (a provider that is not used needs no credentials). */
  requiredIf?: (settings: Readonly<Record<string, string | undefined>>) => boolean;
  /** A fresh value for a secret (`npm run secrets`), with any variable that goes with it. */
  generate?: () => string | Record<string, string>;
}
const localOnly = new WeakMap<z.ZodType, LocalOnly>();
const markLocalOnly = <T extends z.ZodType>(schema: T, how: LocalOnly): T => {
  localOnly.set(schema, how);
  return schema;
};

const randomSecret = () => randomBytes(32).toString('base64url');

/** What production asks of a setting: nothing (a default serves), to be set, or to be set to a secret of its own. */
export type ProductionRule = 'optional' | 'required' | 'secret';

/** The settings of a configuration schema with what production asks of each, and how to make a fresh secret. */
export function productionRules(
  schema: z.ZodObject,
): Array<{ name: string; rule: ProductionRule; generate?: () => string | Record<string, string> }> {
  return Object.entries(schema.shape).map(([name, field]) => {
    const how = localOnly.get(field as z.ZodType);
    if (!how || how.production !== undefined) return { name, rule: 'optional' as const };
    return how.secret ? { name, rule: 'secret' as const, generate: how.generate } : { name, rule: 'required' as const };
  });
}

/** The one switch between local development and a deployment. */
export const isProduction = (environment: NodeJS.ProcessEnv = process.env) => environment.NODE_ENV === 'production';

/**
 * Reads a program's settings from environment variables. Every key of the schema is the
 * name of an environment variable; each bad value is reported with its variable name, all at
 * once, so a deployment that sets several wrongly learns every one at its first start. In
 * production (NODE_ENV=production) no local-development default is used: each such setting
 * must be given, and a secret equal to a committed local value is refused.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, environment: NodeJS.ProcessEnv = process.env, prefix = ''): z.infer<S> {
  const production = isProduction(environment);
  const input: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const key of Object.keys(schema.shape)) {
    const value = environment[prefix + key];
    input[key] = value === '' ? undefined : value;
  }
  if (production) {
    for (const [key, field] of Object.entries(schema.shape)) {
      const rule = localOnly.get(field as z.ZodType);
      if (!rule) continue;
      const value = input[key];
      if (value === undefined && rule.production !== undefined) input[key] = rule.production;
      else if (value === undefined && rule.requiredIf && !rule.requiredIf(input)) continue;
      else if (value === undefined && !(rule.unlessSet && input[rule.unlessSet] !== undefined)) {
        problems.push(`${prefix}${key}: must be set when NODE_ENV=production (its default is for local development only)`);
      } else if (value !== undefined && rule.secret && (value === rule.local || COMMITTED_SECRETS.has(value))) {
        problems.push(`${prefix}${key}: is a committed local development value; production needs a secret of its own`);
      }
    }
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = issue.path[0] === undefined ? '(config)' : `${prefix}${String(issue.path[0])}`;
      if (!problems.some((p) => p.startsWith(`${name}:`))) problems.push(`${name}: ${issue.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return result.data as z.infer<S>;
}

/**
 * Loads several parts of one program's configuration and reports the problems of all of
 * them at once: a deployment learns every wrong value at its first start.
 */
export function loadAll<T extends readonly unknown[]>(...loaders: { [K in keyof T]: () => T[K] }): T {
  const problems: string[] = [];
  const results = loaders.map((load) => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  });
  if (problems.length) throw new ConfigError(problems);
  return results as unknown as T;
}

/**
 * One setting per name (each sandbox provider's port): `variable(name)` names it, `schema(name)`
 * reads it, and the values come back keyed by name, typed, with loadConfig's production rules.
 */
export function loadEach<N extends string, T>(
  names: readonly N[],
  variable: (name: N) => string,
  schema: (name: N) => z.ZodType<T>,
  environment: NodeJS.ProcessEnv = process.env,
): Record<N, T> {
  const values = loadConfig(z.object(Object.fromEntries(names.map((name) => [variable(name), schema(name)]))), environment);
  return Object.fromEntries(names.map((name) => [name, values[variable(name)]])) as Record<N, T>;
}

const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));

/** Shared field types, so every program spells a port, a URL or a secret the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(fallback),
  /** A service's metrics port, apart from the port it serves clients on; see metricsPortOf. */
  metricsPort: () => z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).optional(),
  /** An http(s) URL that must be given (no default). */
  url: () => httpUrl(),
  /**
   * An upstream's URL: the sandbox locally; in production the provider's public API when it
   * has one (`production`), else it must be set.
   */
  upstreamUrl: (local: string, production?: string) => markLocalOnly(httpUrl().default(local), { secret: false, production }),
  /** A credential: a committed local value for development; in production one of its own. */
  secret: (
    local: string,
    options: {
      minLength?: number;
      format?: [RegExp, string];
      check?: [(value: string) => boolean, string];
      unlessSet?: string;
      requiredIf?: LocalOnly['requiredIf'];
      /** A fresh value of the shape the secret needs; 32 random bytes (base64url) when not given. */
      generate?: () => string | Record<string, string>;
    } = {},
  ) =>
    markLocalOnly(
      z
        .string()
        .min(options.minLength ?? 1, `must be at least ${options.minLength ?? 1} characters`)
        .regex(options.format?.[0] ?? /[^]/, options.format?.[1])
        .refine(options.check?.[0] ?? (() => true), options.check?.[1])
        .default(local),
      { secret: true, local, unlessSet: options.unlessSet, requiredIf: options.requiredIf, generate: options.generate ?? randomSecret },
    ),
  /** Any other setting whose default is for local development only (needed in production, or only when `requiredIf` says). */
  local: <T extends z.ZodType>(schema: T, options: { requiredIf?: LocalOnly['requiredIf'] } = {}) =>
    markLocalOnly(schema, { secret: false, requiredIf: options.requiredIf }),
  ms: (fallback: number) => z.coerce.number({ error: 'must be a number of milliseconds' }).int().positive().default(fallback),
  host: (fallback = '127.0.0.1') => z.string().min(1).default(fallback),
  redisUrl: () => z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
};

/** How far a service's metrics port is from its own when not set (web 4000 → 5000, accounts 4011 → 5011). */
export const METRICS_PORT_OFFSET = 1000;

/**
 * The port a service serves /metrics on: as set, else its own port + METRICS_PORT_OFFSET, or a
 * free port when its own is (port 0). Never the port clients reach: metrics stay off the
 * public listener.
 */
export function metricsPortOf(port: number, given: number | undefined, variable: string): number {
  if (given !== undefined) return given;
  if (port === 0) return 0;
  if (port + METRICS_PORT_OFFSET > 65535)
    throw new ConfigError([`${variable}: must be set when the service's port is over ${65535 - METRICS_PORT_OFFSET}`]);
  return port + METRICS_PORT_OFFSET;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What every patchbay program reads, validated with its own settings. */
export const ProcessConfig = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test'], { error: 'must be production, development or test' }).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});
export type ProcessConfig = z.infer<typeof ProcessConfig>;

/** OpenTelemetry's standard variables, validated like every other setting (kit/process/tracing.ts). */
export const TracingConfig = z.object({
  /** Where spans go (OTLP over HTTP); unset, nothing is exported and the SDK is not loaded. */
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/protobuf', 'http/json', 'grpc'], { error: 'must be http/protobuf, http/json or grpc' })
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
      error: 'must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
    })
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number({ error: 'must be a number from 0 to 1' }).min(0).max(1).optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});
export type TracingConfig = z.infer<typeof TracingConfig>;

/** What every server process reads besides: where it listens, how it stops, where its spans go. */
export const ServerConfig = ProcessConfig.extend(TracingConfig.shape).extend({
  HOST: env.host(),
  /**
   * How long a stopping process keeps serving while /readyz says "draining", so the load
   * balancer takes it out of rotation before it closes (a few seconds behind Kubernetes).
   */
  SHUTDOWN_DRAIN_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(120_000).default(0),
});
export type ServerConfig = z.infer<typeof ServerConfig>;
