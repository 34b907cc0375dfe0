import { stateLabel, type BreakerPolicy, type BreakerState } from './breaker.js';
import { UpstreamError } from './errors.js';
import type { CacheOptions } from './http-cache.js';
import type { Logger } from './logger.js';
import type { SourceMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limit.js';
import type { RetryPolicy } from './retry.js';
import { readThroughCache } from './source-cache.js';
import { buildCallPolicies } from './source-policy.js';
import { createTransport } from './source-transport.js';
import { nameOf, propertyOf } from './thrown.js';
import { inSpan } from './tracing.js';
import { toUpstreamError, type UpstreamResponse } from './upstream-response.js';

export type { UpstreamResponse } from './upstream-response.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** How one upstream is called: declared once per source, enforced for every call. */
export interface SourcePolicy {
  /** Limit of one attempt, from connect to last byte. */
  timeoutMs: number;
  /** Limit of a whole call, retries and their waits included. Defaults to 3 x timeoutMs. */
  deadlineMs?: number;
  retry?: RetryPolicy;
  /** See BreakerPolicy (kit/breaker.ts); STANDARD_BREAKER suits most providers. */
  breaker?: BreakerPolicy;
  bulkhead?: { maxConcurrent: number; maxQueued: number };
  /**
   * The provider's documented request rate; calls wait for their turn within the deadline.
   * `shared`: a quota of the provider account, held across replicas in Redis when the
   * process has REDIS_URL (kit/source-kit.ts); otherwise each process keeps its own.
   */
  rateLimit?: { perSecond: number; burst?: number; shared?: boolean };
  /** HTTP caching of GET responses as their headers allow (kit/http-cache.ts); off when absent. */
  cache?: CacheOptions;
}

/** Request as it is about to be sent, for sources that sign requests (S3 SigV4). */
export interface OutgoingRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface SourceOptions extends SourcePolicy {
  /** `<subgraph>.<provider>`: the label in errors, logs and metrics. */
  name: string;
  baseUrl: string;
  /** Headers sent with every request (credentials, Accept). */
  headers?: Record<string, string>;
  /** Adds signature headers to a request that is ready to go. */
  sign?: (request: OutgoingRequest) => Record<string, string>;
  /** The limiter that enforces `rateLimit`, when not this process's own token bucket (a shared one). */
  rateLimiter?: RateLimiter;
  /** Provider-specific reading of a 429's throttle headers, in ms to wait. Defaults to Retry-After. */
  retryAfterMs?: (response: UpstreamResponse) => number | undefined;
  logger?: Logger;
  metrics?: SourceMetrics;
}

export interface RequestOptions {
  /** Low-cardinality name of the call for metrics and logs, e.g. `listObjects`. */
  operation: string;
  method?: HttpMethod;
  /** Path below the base URL; query parameters go in `query`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /**
   * Whether repeating the request cannot do anything twice. Defaults to true for GET,
   * HEAD, PUT and DELETE; a POST is idempotent only when it carries a dedup id the
   * provider honours.
   */
  idempotent?: boolean;
  /** Statuses returned to the caller instead of thrown, e.g. 404 for a lookup. */
  expect?: number[];
  /**
   * Freshness for a cached GET whose response states none (for upstreams that send no
   * caching headers but whose data may be a little old). The upstream's own headers win.
   */
  cacheTtlMs?: number;
  signal?: AbortSignal;
}

export interface Source {
  readonly name: string;
  readonly baseUrl: string;
  /** The policy this source enforces, as declared. */
  readonly policy: Readonly<SourcePolicy>;
  request(options: RequestOptions): Promise<UpstreamResponse>;
  breakerState(): BreakerState;
  /** Forgets every cached response. */
  clearCache(): void;
  close(): void;
}

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/**
 * Builds the client of one upstream service. This is the only code in patchbay that does
 * HTTP to an upstream: every call gets the per-attempt timeout, the overall deadline, the
 * retry rule, the circuit breaker and the bulkhead of the declared policy (source-policy.ts),
 * each attempt goes through one transport (source-transport.ts), reads through the HTTP cache
 * (source-cache.ts), and every failure leaves as one typed UpstreamError.
 */
export function createSource(options: SourceOptions): Source {
  const { name, metrics } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const policies = buildCallPolicies(options);
  const { breaker, deadlineMs } = policies;
  const transport = createTransport(options, deadlineMs);

  /** The request as it will be sent, before signing: header names in lower case. */
  function prepare(request: RequestOptions): OutgoingRequest {
    const method = request.method ?? 'GET';
    const url = new URL(`${baseUrl}/${request.path.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const body =
      request.json !== undefined
        ? Buffer.from(JSON.stringify(request.json))
        : typeof request.body === 'string'
          ? Buffer.from(request.body)
          : request.body;
    const headers: Record<string, string> = { 'user-agent': 'patchbay' };
    const given = { ...options.headers, ...(request.json !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers };
    for (const [header, value] of Object.entries(given)) headers[header.toLowerCase()] = value;
    return { method, url, headers, body };
  }

  /** One call under the source's policy, each attempt in a span that says why the one before failed. */
  async function execute(request: RequestOptions, prepared: OutgoingRequest): Promise<UpstreamResponse> {
    const idempotent = request.idempotent ?? IDEMPOTENT_METHODS.has(prepared.method);
    let retryReason: string | undefined;
    try {
      return await policies.forCall(idempotent).execute((policyContext) => {
        const { signal } = policyContext;
        const previous = propertyOf(policyContext, 'attempt');
        const number = (typeof previous === 'number' ? previous : 0) + 1;
        const attributes = { 'patchbay.attempt': number, ...(retryReason ? { 'patchbay.retry_reason': retryReason } : {}) };
        return inSpan(`${name} attempt`, { attributes }, () =>
          transport
            .attempt(request, prepared, request.signal ? AbortSignal.any([signal, request.signal]) : signal)
            .catch((error: unknown) => {
              retryReason = error instanceof UpstreamError ? `${error.code}${error.status ? ` ${error.status}` : ''}` : nameOf(error);
              throw error;
            }),
        );
      });
    } catch (error) {
      throw toUpstreamError(name, error, () => metrics?.bulkheadRejections.inc({ source: name }));
    }
  }

  const cache = options.cache ? readThroughCache(name, options.cache, metrics, execute) : undefined;
  const inFlight = new Map<string, Promise<UpstreamResponse>>();
  const breakerState = () => (breaker ? stateLabel(breaker.state) : 'closed');
  const { timeoutMs, retry, bulkhead, rateLimit } = options;
  return {
    name,
    baseUrl,
    policy: { timeoutMs, deadlineMs, retry, breaker: options.breaker, bulkhead, rateLimit, cache: options.cache },
    request(request) {
      // One span per call: its cache outcome, the breaker's state, and its attempts inside.
      const attributes = { 'patchbay.source': name, 'patchbay.operation': request.operation, 'patchbay.breaker_state': breakerState() };
      return inSpan(`${name} ${request.operation}`, { attributes }, (span) => {
        const prepared = prepare(request);
        // Identical reads in flight at once share one upstream call, across GraphQL requests.
        // A caller with its own abort signal does not share: its abort must not cancel others.
        if ((prepared.method !== 'GET' && prepared.method !== 'HEAD') || request.signal) return execute(request, prepared);
        const key = `${prepared.method} ${prepared.url.href} ${JSON.stringify(request.headers ?? {})} ${request.expect ?? ''}`;
        const pending = inFlight.get(key);
        if (pending) {
          metrics?.deduplicated.inc({ source: name });
          span.setAttribute('patchbay.deduplicated', true);
          return pending;
        }
        const call = (cache ? cache.read(request, prepared) : execute(request, prepared)).finally(() => inFlight.delete(key));
        inFlight.set(key, call);
        return call;
      });
    },
    clearCache: () => cache?.clear(),
    breakerState,
    close: () => transport.close(),
  };
}
