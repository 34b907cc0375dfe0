import type { IDefaultPolicyContext } from 'cockatiel';
import type { CacheOptions } from './http-cache.js';
import type { BreakerPolicy } from './policies/breaker.js';
import type { HedgePolicy } from './policies/hedge.js';
import type { RetryPolicy } from './policies/retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/**
 * Which calls go first when a source is short of tokens: what a person waits for (reads for a
 * screen, a send they asked for) before work nobody waits for (an outbox draining, bulk jobs).
 */
export type Priority = 'interactive' | 'background';

/** A provider's documented request rate, declared beside its source. */
export interface RateLimitPolicy {
  perSecond: number;
  /** Calls that may go at once after a quiet while; the rate, rounded up, when absent. */
  burst?: number;
  /**
   * A quota of the provider account, held across replicas in Redis when the process has
   * REDIS_URL; otherwise, and while Redis is away, each process keeps its share.
   */
  shared?: boolean;
}

/** How one upstream is called: declared once per source, enforced for every call. */
export interface SourcePolicy {
  /** Limit of one attempt, from connect to last byte. */
  timeoutMs: number;
  /** Limit of a whole call, retries and their waits included. Defaults to 3 x timeoutMs. */
  deadlineMs?: number;
  retry?: RetryPolicy;
  /** See BreakerPolicy (policies/breaker.ts); STANDARD_BREAKER suits most providers. */
  breaker?: BreakerPolicy;
  bulkhead?: { maxConcurrent: number; maxQueued: number };
  rateLimit?: RateLimitPolicy;
  /** Hedged reads (policies/hedge.ts): a second attempt at an idempotent call that runs late. */
  hedge?: HedgePolicy;
  /** HTTP caching of GET responses as their headers allow (http-cache.ts); off when absent. */
  cache?: CacheOptions;
}

/** Request as it is about to be sent, for sources that sign requests (S3 SigV4). */
export interface OutgoingRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body: Buffer | undefined;
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
  /** `interactive` unless said: see Priority. */
  priority?: Priority;
  signal?: AbortSignal;
}

/** One call as its policies see it. */
export interface Call {
  request: RequestOptions;
  prepared: OutgoingRequest;
  idempotent: boolean;
  priority: Priority;
  /** When the call's deadline passes (epoch ms, Date.now()). */
  deadlineAt: number;
}

/** What flows down a source's chain of policies: the call, and the signal of the attempt at hand. */
export interface CallContext extends IDefaultPolicyContext {
  call: Call;
}
