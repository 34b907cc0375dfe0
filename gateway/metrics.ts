import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { getOperationAST, type GraphQLError } from 'graphql';
import { Counter, Histogram, type Registry } from 'prom-client';
import { transportFailureOf } from './errors.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Operation names that get a label of their own, beyond the client's persisted ones; the rest are `other`. */
const MAX_OPERATION_LABELS = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The limit a refusal names, from its message (ours and graphql-armor's). */
const LIMITS: Array<[RegExp, string]> = [
  [/^Token limit/, 'tokens'],
  [/^Selection limit/, 'selections'],
  [/^Repeated field limit/, 'repeats'],
  [/^Query depth limit/, 'depth'],
  [/^Aliases limit/, 'aliases'],
  [/^Directives limit/, 'directives'],
  [/^Cost limit/, 'cost'],
  [/nested too deeply/, 'nesting'],
];

/**
 * Operation names as metric labels, bounded: the client's persisted operations always, other
 * names as they come until MAX_OPERATION_LABELS are in use, then `other`, so a client that
 * makes up names cannot grow the series without end.
 */
class OperationLabels {
  private readonly known: Set<string>;
  private extra = 0;
  constructor(persisted: Iterable<string>) {
    this.known = new Set(persisted);
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

interface RequestRecord {
  startedAt: number;
  operation: string;
  codes: string[];
  hasData: boolean;
}

/**
 * What a dashboard of a gateway needs, per client: requests by operation and outcome, their
 * latency, errors by code, refusals by the limit they passed, authentication failures by
 * reason, and every subgraph call's latency and outcome. Operation names are bounded
 * (OperationLabels).
 */
export function createGatewayMetrics(registry: Registry, client: string, persistedOperations: Iterable<string> = []) {
  const requests = new Counter({
    name: 'patchbay_gateway_requests_total',
    help: 'GraphQL requests by client, operation and outcome (ok, partial: data with errors, error: no data)',
    labelNames: ['client', 'operation', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'patchbay_gateway_request_duration_seconds',
    help: 'Time from request to response, by client and operation',
    labelNames: ['client', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'patchbay_gateway_errors_total',
    help: 'Errors in GraphQL responses by client, operation and extensions.code',
    labelNames: ['client', 'operation', 'code'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'patchbay_gateway_limit_refusals_total',
    help: 'Requests refused for passing a limit (tokens, selections, repeats, depth, aliases, directives, cost, nesting, body_size)',
    labelNames: ['client', 'limit'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'patchbay_gateway_auth_failures_total',
    help: 'Requests refused before GraphQL for their credentials, by reason',
    labelNames: ['client', 'reason'] as const,
    registers: [registry],
  });
  const subgraphRequests = new Counter({
    name: 'patchbay_gateway_subgraph_requests_total',
    help: 'Subgraph calls by client, subgraph and outcome (ok, errors: GraphQL errors in the answer, unavailable, timeout)',
    labelNames: ['client', 'subgraph', 'outcome'] as const,
    registers: [registry],
  });
  const subgraphDuration = new Histogram({
    name: 'patchbay_gateway_subgraph_duration_seconds',
    help: 'Duration of one subgraph call, by client and subgraph',
    labelNames: ['client', 'subgraph'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const operations = new OperationLabels(persistedOperations);
  const records = new WeakMap<Request, RequestRecord>();

  const plugin: GatewayPlugin = {
    onRequest({ request }) {
      records.set(request, { startedAt: performance.now(), operation: 'unknown', codes: [], hasData: false });
    },
    onParams({ request, params }) {
      // The name the client sent, until the document says (a document refused unparsed keeps it, or `unknown`).
      const record = records.get(request);
      if (record && params.operationName) record.operation = operations.of(params.operationName);
    },
    onExecute({ args }) {
      const record = records.get((args.contextValue as { request: Request }).request);
      if (record) record.operation = operations.of(getOperationAST(args.document, args.operationName)?.name?.value);
    },
    onSubgraphExecute({ subgraphName }) {
      const startedAt = performance.now();
      return ({ result }) => {
        subgraphDuration.observe({ client, subgraph: subgraphName }, (performance.now() - startedAt) / 1000);
        if (Symbol.asyncIterator in result) return void subgraphRequests.inc({ client, subgraph: subgraphName, outcome: 'ok' });
        const failure = result.errors?.map((error) => transportFailureOf(error)).find(Boolean);
        subgraphRequests.inc({ client, subgraph: subgraphName, outcome: failure ?? (result.errors?.length ? 'errors' : 'ok') });
      };
    },
    onResultProcess({ request, result }) {
      const record = records.get(request);
      if (!record || Symbol.asyncIterator in result) {
        if (record) record.hasData = true;
        return;
      }
      for (const single of Array.isArray(result) ? result : [result]) {
        if (single.data != null) record.hasData = true;
        for (const error of (single.errors ?? []) as GraphQLError[]) {
          const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'UNKNOWN';
          record.codes.push(code);
          const limit = LIMITS.find(([pattern]) => pattern.test(error.message))?.[1];
          if (limit) refusals.inc({ client, limit });
        }
      }
    },
    onResponse({ request, response }) {
      const record = records.get(request);
      // Only GraphQL requests: health checks, the IDE page and preflights are not counted.
      if (!record || (response.status < 400 && record.codes.length === 0 && !record.hasData)) return;
      records.delete(request);
      const { operation } = record;
      const outcome = response.status >= 400 || !record.hasData ? 'error' : record.codes.length ? 'partial' : 'ok';
      requests.inc({ client, operation, outcome });
      duration.observe({ client, operation }, (performance.now() - record.startedAt) / 1000);
      for (const code of record.codes) errors.inc({ client, operation, code });
    },
  };

  return {
    plugin,
    /** A request refused before the engine saw it (a body over the limit). */
    refused(limit: string) {
      refusals.inc({ client, limit });
    },
    authFailed(reason: string) {
      authFailures.inc({ client, reason });
    },
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
