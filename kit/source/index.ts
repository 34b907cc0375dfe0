import type { Logger } from '../process/logger.js';
import type { SourceMetrics } from '../process/metrics.js';
import { nameOf, propertyOf } from '../process/caught.js';
import { inSpan, trace } from '../process/tracing.js';
import { UpstreamError } from '../errors.js';
import { runChain, type ChainPolicy } from './chain.js';
import { TokenBucket, type Bucket } from './limiter.js';
import { toUpstreamError } from './outcome.js';
import { createPauseBoard, type PauseBoard } from './pauses.js';
import { admissionPolicy } from './policies/admission.js';
import { BREAKER_GAUGE, buildBreaker, type BreakerState } from './policies/breaker.js';
import { bulkheadPolicy } from './policies/bulkhead.js';
import { cachePolicy } from './policies/cache.js';
import { deadlinePolicy } from './policies/deadline.js';
import { hedgePolicy } from './policies/hedge.js';
import { retryPolicy } from './policies/retry.js';
import type { UpstreamResponse } from './response.js';
import { createTransport } from './transport.js';
import type { CallContext, HttpMethod, OutgoingRequest, RequestOptions, SourcePolicy } from './types.js';

export type { UpstreamResponse } from './response.js';
export type { HttpMethod, OutgoingRequest, Priority, RequestOptions, SourcePolicy } from './types.js';

export interface SourceOptions extends SourcePolicy {
  /** `<subgraph>.<provider>`: the label in errors, logs and metrics. */
  name: string;
  baseUrl: string;
  /** Headers sent with every request (credentials, Accept). */
  headers?: Record<string, string>;
  /** Adds signature headers to a request that is ready to go. */
  sign?: (request: OutgoingRequest) => Record<string, string>;
  /** Provider-specific reading of a 429's throttle headers, in ms to wait. Defaults to Retry-After. */
  retryAfterMs?: (response: UpstreamResponse) => number | undefined;
  /** The bucket that holds `rateLimit`, when not this process's own (one shared through Redis: source/kit.ts). */
  bucket?: Bucket;
  /** Where the providers' pauses are kept: this process's own unless given (shared through Redis: source/kit.ts). */
  pauses?: PauseBoard;
  logger?: Logger;
  metrics?: SourceMetrics;
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

/** Everything a policy of the chain may take its part from: the declared policy, the observers, what the resources shares. */
interface ChainParts {
  options: SourceOptions;
  deadlineMs: number;
  observe: SourceObservers;
}

/**
 * The chain of one source's policies, outermost first, declared once: the call's deadline,
 * the read-through cache, the retries within the deadline, hedged reads, the breaker, the
 * bulkhead and the source's turn (a pause the provider asked for, the rate limit). Each takes
 * its part of the declared policy; what a source does not declare is left out. A new policy
 * is its file and a line here (docs/adr/0010).
 */
const CHAIN: ReadonlyArray<(parts: ChainParts) => (ChainPolicy & { clear?(): void }) | undefined> = [
  ({ deadlineMs }) => deadlinePolicy(deadlineMs),
  ({ options, observe }) => options.cache && cachePolicy(options.name, options.cache, observe.cache),
  ({ options, deadlineMs, observe }) => options.retry && retryPolicy(options.retry, deadlineMs, observe.retry),
  ({ options, observe }) => options.hedge && hedgePolicy(options.hedge, observe.hedge),
  ({ options, observe }) => buildBreaker(options.breaker, observe.breaker),
  ({ options }) => bulkheadPolicy(options.bulkhead),
  ({ options, observe }) =>
    admissionPolicy(
      options.name,
      { bucket: options.bucket ?? (options.rateLimit && new TokenBucket(options.rateLimit)), pauses: options.pauses ?? createPauseBoard() },
      observe.admission,
    ),
];

/** What the policies report, to the source's metrics and log. */
function observersOf(options: SourceOptions, breaker: { state: BreakerState }) {
  const { name, metrics, logger } = options;
  const source = { source: name };
  return {
    cache: {
      onLookup: (result: 'hit' | 'revalidated' | 'miss') => {
        metrics?.cacheLookups.inc({ ...source, result });
        trace.getActiveSpan()?.setAttribute('patchbay.cache', result);
      },
    },
    retry: {
      onRetry: (attempt: number) => {
        metrics?.retries.inc(source);
        logger?.debug({ ...source, attempt }, 'retrying upstream call');
      },
      onProviderWait: (waitMs: number) => metrics?.retryAfterWait.observe(source, waitMs / 1000),
    },
    hedge: { onHedge: (outcome: 'launched' | 'won' | 'lost') => metrics?.hedges.inc({ ...source, outcome }) },
    breaker: {
      onStateChange: (state: BreakerState) => {
        breaker.state = state;
        metrics?.breakerState.set(source, BREAKER_GAUGE[state]);
        metrics?.breakerTransitions.inc({ ...source, to: state });
        logger?.warn({ ...source, state }, 'circuit breaker changed state');
      },
    },
    admission: {
      onWait: (priority: string) => metrics?.rateLimitWaits.inc({ ...source, priority }),
      onPause: (pauseMs: number) => {
        metrics?.pauses.inc(source);
        logger?.warn({ ...source, pauseMs }, 'provider asked to wait: every caller of the source waits');
      },
    },
  };
}
type SourceObservers = ReturnType<typeof observersOf>;

/**
 * Builds the client of one upstream service. This is the only code in patchbay that does
 * HTTP to an upstream: every call runs through the source's chain of policies (CHAIN above),
 * each attempt through one transport (transport.ts), and every failure leaves as one typed
 * UpstreamError.
 */
export function createSource(options: SourceOptions): Source {
  const { name, metrics } = options;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const deadlineMs = options.deadlineMs ?? options.timeoutMs * 3;
  const breaker = { state: 'closed' as BreakerState };
  const observe = observersOf(options, breaker);
  const built = CHAIN.map((make) => make({ options, deadlineMs, observe }));
  const policies = built.filter((policy) => policy !== undefined);
  metrics?.breakerState.set({ source: name }, 0);
  const transport = createTransport({
    name,
    timeoutMs: options.timeoutMs,
    maxSockets: options.bulkhead?.maxConcurrent ?? 64,
    sign: options.sign,
    retryAfterMs: options.retryAfterMs,
    logger: options.logger,
    metrics,
  });

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

  /** One call through the chain, each attempt in a span that says why the one before failed. */
  async function execute(request: RequestOptions, prepared: OutgoingRequest): Promise<UpstreamResponse> {
    let retryReason: string | undefined;
    const signal = request.signal ?? new AbortController().signal;
    const context: CallContext = {
      signal,
      call: {
        request,
        prepared,
        idempotent: request.idempotent ?? IDEMPOTENT_METHODS.has(prepared.method),
        priority: request.priority ?? 'interactive',
        deadlineAt: Date.now() + deadlineMs,
      },
    };
    try {
      return await runChain(policies, context, (attemptContext) => {
        const previous = propertyOf(attemptContext, 'attempt');
        const number = (typeof previous === 'number' ? previous : 0) + 1;
        const attributes = { 'patchbay.attempt': number, ...(retryReason ? { 'patchbay.retry_reason': retryReason } : {}) };
        return inSpan(`${name} attempt`, { attributes }, () =>
          transport.attempt(request, attemptContext.call.prepared, attemptContext.signal).catch((error: unknown) => {
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
  const breakerState = (): BreakerState => breaker.state;
  const { timeoutMs, retry, bulkhead, rateLimit, hedge, cache } = options;
  return {
    name,
    baseUrl,
    policy: { timeoutMs, deadlineMs, retry, breaker: options.breaker, bulkhead, rateLimit, hedge, cache },
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
        const call = execute(request, prepared).finally(() => inFlight.delete(key));
        inFlight.set(key, call);
        return call;
      });
    },
    clearCache: () => built.forEach((policy) => policy?.clear?.()),
    breakerState,
    close: () => transport.close(),
  };
}
