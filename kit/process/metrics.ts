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

/** Declares metrics in one registry by name, help and label names (histograms in LATENCY_BUCKETS unless given). */
export function metricsIn(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string>(name: string, help: string, labelNames: readonly L[], buckets = LATENCY_BUCKETS) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers }),
  };
}

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
  /** Names known from now on (a client's operations, as they are loaded). */
  know(names: Iterable<string>): void {
    for (const name of names) this.known.add(name);
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
  const metric = metricsIn(registry);
  return {
    labels: new OperationLabels(),
    operations: metric.counter(
      'patchbay_subgraph_operations_total',
      'GraphQL operations served, by operation and outcome (ok, partial: data with errors, error: no data)',
      ['operation', 'outcome'],
    ),
    duration: metric.histogram('patchbay_subgraph_operation_duration_seconds', 'Time to serve one GraphQL operation', ['operation']),
    errors: metric.counter('patchbay_subgraph_errors_total', 'Errors in GraphQL answers by operation and extensions.code', [
      'operation',
      'code',
    ]),
  };
}

/** What every upstream source reports. Labels are the source and operation names only. */
export function createSourceMetrics(registry: Registry) {
  const metric = metricsIn(registry);
  return {
    requests: metric.counter('patchbay_upstream_requests_total', 'Upstream attempts by source, operation and outcome', [
      'source',
      'operation',
      'outcome',
    ]),
    attemptDuration: metric.histogram('patchbay_upstream_attempt_duration_seconds', 'Duration of one upstream attempt', [
      'source',
      'operation',
      'outcome',
    ]),
    retries: metric.counter('patchbay_upstream_retries_total', 'Upstream attempts that were retries', ['source']),
    retryAfterWait: new Histogram({
      name: 'patchbay_upstream_retry_after_seconds',
      help: 'Waits taken because the upstream asked for them (Retry-After and equivalents)',
      labelNames: ['source'] as const,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    breakerState: metric.gauge('patchbay_circuit_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated', [
      'source',
    ]),
    breakerTransitions: metric.counter('patchbay_circuit_breaker_transitions_total', 'Circuit breaker state changes', ['source', 'to']),
    rateLimitWaits: metric.counter(
      'patchbay_upstream_rate_limit_waits_total',
      'Calls that waited for their turn (the rate limit, or a pause the provider asked for), by priority',
      ['source', 'priority'],
    ),
    pauses: metric.counter(
      'patchbay_upstream_pauses_total',
      'Answers of a provider (429, 503 with a time to come back) that paused its source for every caller',
      ['source'],
    ),
    rateLimitFallbacks: metric.counter(
      'patchbay_upstream_rate_limit_fallbacks_total',
      "Turns taken from this process's share of a shared quota while Redis could not be reached",
      ['source'],
    ),
    hedges: metric.counter(
      'patchbay_upstream_hedges_total',
      'Hedged reads: second attempts launched, and which of the two answered first (won: the second, lost: the first)',
      ['source', 'outcome'],
    ),
    cacheLookups: metric.counter(
      'patchbay_upstream_cache_lookups_total',
      'HTTP cache lookups of upstream GETs: hit (no call), revalidated (304), miss',
      ['source', 'result'],
    ),
    deduplicated: metric.counter('patchbay_upstream_deduplicated_total', 'Upstream reads that joined an identical call already in flight', [
      'source',
    ]),
    bulkheadRejections: metric.counter(
      'patchbay_bulkhead_rejections_total',
      'Calls refused because the source had too many in flight and queued',
      ['source'],
    ),
  };
}
export type SourceMetrics = ReturnType<typeof createSourceMetrics>;
