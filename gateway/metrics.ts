import { STALE_CODE } from '../kit/errors.js';
import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { getOperationAST } from 'graphql';
import { Gauge, type Registry } from 'prom-client';
import { OPERATION_HEADER, OperationLabels, metricsIn } from '../kit/process/metrics.js';
import { transportFailureOf } from './errors.js';
import { appVersionOf } from './releases.js';
import type { SubgraphCallStep } from './plugins/subgraph-calls.js';

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
  [/^Variables (hold|are nested)/, 'variables'],
  [/^Document size limit/, 'document_size'],
];

/** The name of a document's first operation, read without parsing (a refused document is never parsed). */
const LEADING_OPERATION_NAME = /^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/;

interface RequestRecord {
  startedAt: number;
  operation: string;
  codes: string[];
  hasData: boolean;
  /** The app version's label (bounded: a known release, `other` or `none`). */
  appVersion: string;
}

/**
 * What a dashboard of a gateway needs, per client: requests by operation and outcome, their
 * latency, errors by code, refusals by the limit they passed, authentication failures by
 * reason, and every subgraph call's latency and outcome. Operation names are bounded
 * (OperationLabels).
 */
export function createGatewayMetrics(registry: Registry, client: string, persistedOperations: Iterable<string> = []) {
  const metric = metricsIn(registry);
  const requests = metric.counter(
    'patchbay_gateway_requests_total',
    'GraphQL requests by client, operation and outcome (ok, partial: data with errors, error: no data)',
    ['client', 'operation', 'outcome'],
  );
  const duration = metric.histogram('patchbay_gateway_request_duration_seconds', 'Time from request to response, by client and operation', [
    'client',
    'operation',
  ]);
  const errors = metric.counter('patchbay_gateway_errors_total', 'Errors in GraphQL responses by client, operation and extensions.code', [
    'client',
    'operation',
    'code',
  ]);
  const refusals = metric.counter(
    'patchbay_gateway_limit_refusals_total',
    'Requests refused for passing a limit (tokens, selections, repeats, depth, aliases, directives, cost, nesting, variables, document_size, body_size)',
    ['client', 'limit'],
  );
  const authFailures = metric.counter(
    'patchbay_gateway_auth_failures_total',
    'Requests refused before GraphQL for their credentials, by reason',
    ['client', 'reason'],
  );
  const subgraphRequests = metric.counter(
    'patchbay_gateway_subgraph_requests_total',
    'Subgraph calls by client, subgraph and outcome (ok, errors: GraphQL errors in the answer, unavailable, timeout)',
    ['client', 'subgraph', 'outcome'],
  );
  const subgraphDuration = metric.histogram(
    'patchbay_gateway_subgraph_duration_seconds',
    'Duration of one subgraph call, by client and subgraph',
    ['client', 'subgraph'],
  );
  const persistedQueryRegistrations = metric.counter(
    'patchbay_gateway_apq_registrations_total',
    'APQ registrations by outcome (registered, known, caller_quota, total_quota: not kept, the query still ran; unavailable: Redis)',
    ['client', 'outcome'],
  );
  const releaseMismatches = metric.counter(
    'patchbay_gateway_release_mismatches_total',
    "Operations run by an app of a known release that its release does not hold (served all the same), by the app's version",
    ['client', 'app_version'],
  );
  const upgradesRequired = metric.counter(
    'patchbay_gateway_upgrade_required_total',
    'Requests of an app older than the minimum version, answered UPGRADE_REQUIRED',
    ['client'],
  );
  const appRequests = metric.counter(
    'patchbay_gateway_app_version_requests_total',
    'GraphQL requests by client, app version (x-app-version: a known release, else `other`; `none` without one) and operation: what each release still runs',
    ['client', 'app_version', 'operation'],
  );
  const invalidOperations = metric.gauge(
    'patchbay_gateway_release_operations_invalid',
    'Operations of served releases that do not validate against the schema served now: an app of that release fails on them',
    ['client'],
  );
  let openSubscriptions = () => 0;
  new Gauge({
    name: 'patchbay_gateway_subscriptions_open',
    help: 'Subscriptions open on this replica, by client',
    labelNames: ['client'],
    registers: [registry],
    collect() {
      this.set({ client }, openSubscriptions());
    },
  });
  let openWebSockets = () => 0;
  new Gauge({
    name: 'patchbay_gateway_websockets_open',
    help: 'GraphQL over WebSocket connections open on this replica, by client',
    labelNames: ['client'],
    registers: [registry],
    collect() {
      this.set({ client }, openWebSockets());
    },
  });
  let knownReleases = new Set<string>();
  const appVersionLabel = (header: string | null) => {
    const version = appVersionOf(header);
    return version === undefined ? 'none' : knownReleases.has(version) ? version : 'other';
  };
  const operations = new OperationLabels(persistedOperations);
  const records = new WeakMap<Request, RequestRecord>();

  const plugin: GatewayPlugin = {
    onRequest({ request }) {
      records.set(request, {
        startedAt: performance.now(),
        operation: 'unknown',
        codes: [],
        hasData: false,
        appVersion: appVersionLabel(request.headers.get('x-app-version')),
      });
    },
    onParams({ request, params }) {
      // The name the client sent, until the document says (a document refused unparsed keeps it, or `unknown`).
      const record = records.get(request);
      const name = params.operationName ?? (typeof params.query === 'string' ? LEADING_OPERATION_NAME.exec(params.query)?.[1] : undefined);
      if (record && name) record.operation = operations.of(name);
    },
    onExecute({ args }) {
      const record = records.get(args.contextValue.request);
      if (record) record.operation = operations.of(getOperationAST(args.document, args.operationName)?.name?.value);
    },
    onSubgraphExecute({ subgraphName }) {
      const startedAt = performance.now();
      return ({ result }) => {
        subgraphDuration.observe({ client, subgraph: subgraphName }, (performance.now() - startedAt) / 1000);
        if (Symbol.asyncIterator in result) return void subgraphRequests.inc({ client, subgraph: subgraphName, outcome: 'ok' });
        // A stale mark is an answer, not an error (gateway/plugins/staleness.ts).
        const errors = result.errors?.filter((error) => error.extensions?.code !== STALE_CODE);
        const failure = errors?.map((error) => transportFailureOf(error)).find(Boolean);
        subgraphRequests.inc({ client, subgraph: subgraphName, outcome: failure ?? (errors?.length ? 'errors' : 'ok') });
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
        for (const error of single.errors ?? []) {
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
      appRequests.inc({ client, app_version: record.appVersion, operation });
      duration.observe({ client, operation }, (performance.now() - record.startedAt) / 1000);
      for (const code of record.codes) errors.inc({ client, operation, code });
    },
  };

  /** Each subgraph call names its operation, for the subgraph's metrics. */
  const subgraphCall: SubgraphCallStep = ({ request, headers }) => {
    const record = request && records.get(request);
    if (record) headers[OPERATION_HEADER] = record.operation;
  };

  return {
    plugin,
    subgraphCall,
    /** A request refused before the engine saw it (a body over the limit). */
    refused(limit: string) {
      refusals.inc({ client, limit });
    },
    authFailed(reason: string) {
      authFailures.inc({ client, reason });
    },
    /** The releases served now, and their operations' names: labels of their own. */
    knowReleases(versions: readonly string[], operationNames: Iterable<string>) {
      knownReleases = new Set(versions);
      operations.know(operationNames);
    },
    /** Bounded: a version that is no release is `other`. */
    releaseMismatch(appVersion: string) {
      releaseMismatches.inc({ client, app_version: knownReleases.has(appVersion) ? appVersion : 'other' });
    },
    upgradeRequired() {
      upgradesRequired.inc({ client });
    },
    /** Where the open subscriptions are counted. */
    openSubscriptions(count: () => number) {
      openSubscriptions = count;
    },
    openWebSockets(count: () => number) {
      openWebSockets = count;
    },
    invalidReleaseOperations(count: number) {
      invalidOperations.set({ client }, count);
    },
    persistedQueryRegistered(outcome: string) {
      persistedQueryRegistrations.inc({ client, outcome });
    },
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
