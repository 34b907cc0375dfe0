import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A registry per service, so processes that host several services keep their metrics apart. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'patchbay_process_' });
  return registry;
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
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
