import http from 'node:http';
import https from 'node:https';
import { got, RequestError, type Headers as GotHeaders } from 'got';
import {
  DelegateBackoff,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead,
  handleWhen,
  noop,
  retry,
  timeout,
  wrap,
  type IBackoff,
  type IPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { BREAKER_GAUGE, buildBreaker, stateLabel, type BreakerPolicy, type BreakerState } from './breaker.js';
import { UpstreamError, UpstreamErrorCode } from './errors.js';
import { HttpCache, type CacheOptions, type CachedResponse } from './http-cache.js';
import { safeUrl, type Logger } from './logger.js';
import { SpanKind, SpanStatusCode, context, inSpan, injectContext, trace, tracer } from './tracing.js';
import type { SourceMetrics } from './metrics.js';
import { TokenBucket, type RateLimiter } from './rate-limit.js';
import { shouldRetry, type RetryPolicy } from './retry.js';
import { buildResponse, codeForStatus, retryAfterHeaderMs, toUpstreamError, type UpstreamResponse } from './upstream-response.js';
import { messageOf, nameOf } from './thrown.js';

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
 * retry rule, the circuit breaker and the bulkhead of the declared policy, and every
 * failure leaves as one typed UpstreamError.
 */
export function createSource(options: SourceOptions): Source {
  const { name, logger, metrics } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const maxSockets = options.bulkhead?.maxConcurrent ?? 64;
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
  };
  const deadlineMs = options.deadlineMs ?? options.timeoutMs * 3;
  const retryPolicy = options.retry;
  const readRetryAfter = options.retryAfterMs ?? retryAfterHeaderMs;

  const breaker = buildBreaker(options.breaker);
  const bulkheadPolicy = options.bulkhead ? bulkhead(options.bulkhead.maxConcurrent, options.bulkhead.maxQueued) : noop;

  if (breaker) {
    breaker.onStateChange((state) => {
      const label = stateLabel(state);
      metrics?.breakerState.set({ source: name }, BREAKER_GAUGE[label]);
      metrics?.breakerTransitions.inc({ source: name, to: label });
      logger?.warn({ source: name, state: label }, 'circuit breaker changed state');
    });
  }
  metrics?.breakerState.set({ source: name }, 0);

  function makeRetry(idempotent: boolean): IPolicy {
    if (!retryPolicy || retryPolicy.attempts <= 1) return noop;
    const retryable = (error: unknown) => shouldRetry(error, { idempotent, policy: retryPolicy, deadlineMs });
    const exponential = new ExponentialBackoff({
      initialDelay: retryPolicy.baseDelayMs ?? 100,
      maxDelay: retryPolicy.maxDelayMs ?? 2000,
    });
    type Context = IRetryBackoffContext<unknown>;
    const backoff = new DelegateBackoff<Context, IBackoff<Context> | undefined>((context, state) => {
      const error = 'error' in context.result ? context.result.error : undefined;
      const waitMs = error instanceof UpstreamError ? error.retryAfterMs : undefined;
      if (waitMs !== undefined) {
        metrics?.retryAfterWait.observe({ source: name }, waitMs / 1000);
        return { delay: waitMs, state };
      }
      const next = (state ?? exponential).next(context);
      return { delay: next.duration, state: next };
    });
    const policy = retry(handleWhen(retryable), { maxAttempts: retryPolicy.attempts - 1, backoff });
    policy.onRetry(({ attempt }) => {
      metrics?.retries.inc({ source: name });
      logger?.debug({ source: name, attempt }, 'retrying upstream call');
    });
    return policy;
  }
  // Built once per source: a call picks the chain for its kind, it never builds one.
  const deadline = timeout(deadlineMs, TimeoutStrategy.Cooperative);
  const idempotentPolicy = wrap(deadline, makeRetry(true), breaker ?? noop, bulkheadPolicy);
  const notIdempotentPolicy = wrap(deadline, makeRetry(false), breaker ?? noop, bulkheadPolicy);

  const bucket =
    options.rateLimiter ?? (options.rateLimit ? new TokenBucket(options.rateLimit.perSecond, options.rateLimit.burst) : undefined);

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

  async function attempt(request: RequestOptions, prepared: OutgoingRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    if (bucket) {
      const turn = await bucket.take(deadlineMs, signal);
      if ('refusedForMs' in turn) {
        throw new UpstreamError(name, UpstreamErrorCode.RATE_LIMITED, { retryAfterMs: turn.refusedForMs, cause: 'client-side rate limit' });
      }
      if (turn.waitedMs > 0) metrics?.rateLimitWaits.inc({ source: name });
    }
    const { method, url, body } = prepared;
    const headers = { ...prepared.headers };
    if (options.sign) Object.assign(headers, options.sign({ method, url, headers, body }));

    const startedAt = performance.now();
    const labels = { source: name, operation: request.operation };
    const observe = (outcome: string) => {
      const seconds = (performance.now() - startedAt) / 1000;
      metrics?.attemptDuration.observe({ ...labels, outcome }, seconds);
      metrics?.requests.inc({ ...labels, outcome });
    };
    // The provider's HTTP call, a client span carrying our trace context on to it.
    const call = tracer.startSpan(`HTTP ${method}`, { kind: SpanKind.CLIENT }, context.active());
    if (call.isRecording()) {
      call.setAttributes({
        'http.request.method': method,
        'server.address': url.hostname,
        'url.full': safeUrl(url),
        'patchbay.source': name,
      });
      injectContext(call, headers);
    }
    let response;
    try {
      response = await got(url, {
        method,
        headers: headers as GotHeaders,
        body,
        signal,
        agent,
        retry: { limit: 0 },
        timeout: { request: options.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'buffer',
        decompress: true,
      });
    } catch (cause) {
      const timedOut = cause instanceof RequestError && (cause.name === 'TimeoutError' || signal.aborted);
      observe(timedOut ? 'timeout' : 'network_error');
      call.setStatus({ code: SpanStatusCode.ERROR, message: timedOut ? 'timeout' : 'network error' });
      call.end();
      logger?.warn({ source: name, operation: request.operation, url: safeUrl(url), err: messageOf(cause) }, 'upstream attempt failed');
      throw new UpstreamError(name, timedOut ? UpstreamErrorCode.TIMEOUT : UpstreamErrorCode.UNAVAILABLE, { cause });
    }
    const result = buildResponse(name, response.statusCode, response.headers, response.body);
    const ok = (response.statusCode >= 200 && response.statusCode < 400) || request.expect?.includes(response.statusCode);
    call.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode >= 400) call.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.statusCode}` });
    call.end();
    observe(ok ? 'success' : `http_${Math.floor(response.statusCode / 100)}xx`);
    if (ok) return result;
    const code = codeForStatus(response.statusCode);
    // A provider's own throttle headers mean "wait" only on a 429 (SendGrid sends its reset on
    // every response); a 503 may carry a standard Retry-After.
    const retryAfterMs =
      response.statusCode === 429 ? readRetryAfter(result) : response.statusCode === 503 ? retryAfterHeaderMs(result) : undefined;
    logger?.warn(
      { source: name, operation: request.operation, url: safeUrl(url), status: response.statusCode },
      'upstream answered with an error status',
    );
    throw new UpstreamError(name, code, { status: response.statusCode, retryAfterMs, cause: `HTTP ${response.statusCode}` });
  }

  /** One call under the source's policy: the deadline, retries, breaker and bulkhead. */
  async function execute(request: RequestOptions, prepared: OutgoingRequest): Promise<UpstreamResponse> {
    const method = request.method ?? 'GET';
    const idempotent = request.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const policy = idempotent ? idempotentPolicy : notIdempotentPolicy;
    let retryReason: string | undefined;
    try {
      return await policy.execute((policyContext) => {
        const { signal } = policyContext;
        const number = ((policyContext as { attempt?: number }).attempt ?? 0) + 1;
        const attributes = { 'patchbay.attempt': number, ...(retryReason ? { 'patchbay.retry_reason': retryReason } : {}) };
        return inSpan(`${name} attempt`, { attributes }, () =>
          attempt(request, prepared, request.signal ? AbortSignal.any([signal, request.signal]) : signal).catch((error: unknown) => {
            retryReason = error instanceof UpstreamError ? `${error.code}${error.status ? ` ${error.status}` : ''}` : nameOf(error);
            throw error;
          }),
        );
      });
    } catch (error) {
      throw toUpstreamError(name, error, () => metrics?.bulkheadRejections.inc({ source: name }));
    }
  }

  const inFlight = new Map<string, Promise<UpstreamResponse>>();
  const cache = options.cache ? new HttpCache(options.cache) : undefined;
  const served = (response: CachedResponse) => buildResponse(name, response.status, response.headers, response.body);

  /** GETs go through the HTTP cache when the source has one. */
  async function readThroughCache(request: RequestOptions, prepared: OutgoingRequest): Promise<UpstreamResponse> {
    if (!cache || prepared.method !== 'GET') return execute(request, prepared);
    const cacheRequest = { method: 'GET', url: prepared.url.href, headers: prepared.headers };
    const countAs = (result: 'hit' | 'revalidated' | 'miss') => {
      metrics?.cacheLookups.inc({ source: name, result });
      trace.getActiveSpan()?.setAttribute('patchbay.cache', result);
    };
    const found = cache.lookup(cacheRequest);
    if (found.kind === 'fresh') {
      countAs('hit');
      return served(found.response);
    }
    if (found.kind === 'stale') {
      const conditional = { ...prepared, headers: { ...prepared.headers, ...found.revalidationHeaders } };
      const response = await execute(request, conditional);
      const reused = response.status === 304 ? cache.revalidated(cacheRequest, found.entry, response) : undefined;
      if (reused) {
        countAs('revalidated');
        return served(reused);
      }
      if (response.status !== 304) {
        countAs('miss');
        if (response.status === 200) cache.store(cacheRequest, response, request.cacheTtlMs);
        return response;
      }
    }
    countAs('miss');
    const response = await execute(request, prepared);
    if (response.status === 200) cache.store(cacheRequest, response, request.cacheTtlMs);
    return response;
  }

  const { timeoutMs, retry: declaredRetry, breaker: declaredBreaker, rateLimit } = options;
  return {
    name,
    baseUrl,
    policy: {
      timeoutMs,
      deadlineMs,
      retry: declaredRetry,
      breaker: declaredBreaker,
      bulkhead: options.bulkhead,
      rateLimit,
      cache: options.cache,
    },
    request(request) {
      // One span per call: its cache outcome, the breaker's state, and its attempts inside.
      const attributes = {
        'patchbay.source': name,
        'patchbay.operation': request.operation,
        'patchbay.breaker_state': breaker ? stateLabel(breaker.state) : 'closed',
      };
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
        const call = readThroughCache(request, prepared).finally(() => inFlight.delete(key));
        inFlight.set(key, call);
        return call;
      });
    },
    clearCache() {
      cache?.clear();
    },
    breakerState() {
      return breaker ? stateLabel(breaker.state) : 'closed';
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
