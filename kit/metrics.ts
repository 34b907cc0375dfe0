import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A registry per service, so processes that host several services keep their metrics apart. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'patchbay_process_' });
  return registry;
}

/** Seconds, for request and call latencies: 5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The client operation a subgraph call serves, sent by the gateway (already a bounded label),
 * so each subgraph reports its work by the client operations that caused it.
 */
export const OPERATION_HEADER = 'x-patchbay-operation';

/** Operation names that get a label of their own beyond the known ones; the rest are `other`. */
const MAX_OPERATION_LABELS = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Operation names as metric labels, bounded: known names (a client's persisted operations)
 * always, other names as they come until MAX_OPERATION_LABELS are in use, then `other`, so a
 * caller that makes up names cannot grow the series without end.
 */
export class OperationLabels {
  private readonly known: Set<string>;
  private extra = 0;
  constructor(known: Iterable<string> = []) {
    this.known = new Set(known);
  }
  of(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.known.has(name)) return name;
    if (!OPERATION_NAME.test(name) || this.extra >= MAX_OPERATION_LABELS) return 'other';
    this.extra++;
    this.known.add(name);
    return name;
  }
}

/** What every subgraph reports of the operations it serves, by the client operation the gateway names. */
export function createOperationMetrics(registry: Registry) {
  return {
    labels: new OperationLabels(),
    operations: new Counter({
      name: 'patchbay_subgraph_operations_total',
      help: 'GraphQL operations served, by operation and outcome (ok, partial: data with errors, error: no data)',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'patchbay_subgraph_operation_duration_seconds',
      help: 'Time to serve one GraphQL operation',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'patchbay_subgraph_errors_total',
      help: 'Errors in GraphQL answers by operation and extensions.code',
      labelNames: ['operation', 'code'] as const,
      registers: [registry],
    }),
  };
}

/** What every upstream source reports. Labels are the source and operation names only. */
export function createSourceMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'patchbay_upstream_requests_total',
      help: 'Upstream attempts by source, operation and outcome',
      labelNames: ['source', 'operation', 'outcome'] as const,
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: 'patchbay_upstream_attempt_duration_seconds',
      help: 'Duration of one upstream attempt',
      labelNames: ['source', 'operation', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'patchbay_upstream_retries_total',
      help: 'Upstream attempts that were retries',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    retryAfterWait: new Histogram({
      name: 'patchbay_upstream_retry_after_seconds',
      help: 'Waits taken because the upstream asked for them (Retry-After and equivalents)',
      labelNames: ['source'] as const,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'patchbay_circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    breakerTransitions: new Counter({
      name: 'patchbay_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes',
      labelNames: ['source', 'to'] as const,
      registers: [registry],
    }),
    rateLimitWaits: new Counter({
      name: 'patchbay_upstream_rate_limit_waits_total',
      help: 'Calls that waited for the client-side rate limit of their source',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'patchbay_upstream_cache_lookups_total',
      help: 'HTTP cache lookups of upstream GETs: hit (no call), revalidated (304), miss',
      labelNames: ['source', 'result'] as const,
      registers: [registry],
    }),
    deduplicated: new Counter({
      name: 'patchbay_upstream_deduplicated_total',
      help: 'Upstream reads that joined an identical call already in flight',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
    bulkheadRejections: new Counter({
      name: 'patchbay_bulkhead_rejections_total',
      help: 'Calls refused because the source had too many in flight and queued',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
  };
}
export type SourceMetrics = ReturnType<typeof createSourceMetrics>;
