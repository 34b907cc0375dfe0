import { createGatewayRuntime, type GatewayPlugin, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { createCallerSigner } from '../kit/caller/token.js';
import { useEventIds } from './plugins/event-ids.js';
import { useStaleMarks } from './plugins/staleness.js';
import { useCacheControl } from './plugins/cache-control.js';
import type { Logger } from '../kit/process/logger.js';
import { createVerifier, type Verifier } from './auth.js';
import { INCREMENTAL_DELIVERY_SDL } from './directives.js';
import { createErrorMasker } from './errors.js';
import { renderIde } from './ide.js';
import { engineLogger } from './logging.js';
import { hybridQueryPlanner, type QueryPlanner } from './planner.js';
import { useClientAuth, type ClientAuthContext } from './plugins/client-auth.js';
import { useIncrementalOnlyWhenAccepted } from './plugins/incremental.js';
import { useDemandControl } from './plugins/demand-control.js';
import { useParserLimits } from './plugins/parser-limits.js';
import { useShapeLimits } from './plugins/shape-limits.js';
import { memoryPersistedQueryStore, type PersistedQueryStore } from './persisted-query-store.js';
import { useAutomaticPersistedQueries } from './plugins/automatic-persisted-queries.js';
import { corsFor, useVaryOnOrigin } from './plugins/cors.js';
import { useJsonBodies } from './plugins/json-bodies.js';
import { useSafelist, type Safelist } from './plugins/safelist.js';
import type { SubscriptionPolicy } from './plugins/subscription-policy.js';
import { useRequestLimits } from './plugins/request-limits.js';
import { useRequestContext } from './plugins/request-context.js';
import { signSubgraphCalls } from './plugins/signed-subgraph-requests.js';
import { useSubgraphCalls, type SubgraphCallStep } from './plugins/subgraph-calls.js';
import { subgraphHeaders } from './plugins/subgraph-headers.js';
import { useRequestErrors } from './plugins/request-errors.js';
import { useNoSuggestions } from './plugins/suggestions.js';
import { useTracing } from './plugins/tracing.js';
import { exportsTraces } from '../kit/process/tracing.js';
import { subgraphUrlVariable, type GatewaySettings } from './settings.js';
import type { GatewayMetrics } from './metrics.js';
import type { SupergraphSource } from './supergraph.js';

export const GRAPHQL_PATH = '/graphql';

/**
 * The gateway's policies, by name: each is one or more plugins and what it adds to every
 * subgraph call (plugins/subgraph-calls.ts), or, for `caller-tokens`, the headers each call
 * carries. bench/gateways.ts prices each from a profile; bench/gateways/patchbay.ts can leave
 * some out to look closer; no setting does.
 */
export const POLICIES = [
  'metrics',
  'cors',
  'authentication',
  'subscriptions',
  'event-ids',
  'json-bodies',
  'request-limits',
  'persisted-queries',
  'parser-limits',
  'shape-limits',
  'no-suggestions',
  'request-errors',
  'demand-control',
  'incremental',
  'request-context',
  'stale-marks',
  'cache-control',
  'caller-tokens',
  'request-signatures',
  'tracing',
] as const;
export type Policy = (typeof POLICIES)[number];

/** The subgraphs a supergraph routes to, by the name its @join__graph gives each. */
export function subgraphNames(supergraphSdl: string): string[] {
  return [...supergraphSdl.matchAll(/@join__graph\(\s*name:\s*"([^"]+)"/g)].map((match) => match[1]!);
}

/**
 * One client's gateway: Hive Gateway's runtime (query planning, execution, @defer, request
 * merging, introspection and CSRF rules, error masking) over whatever supergraph `supergraph`
 * holds, with this client's policy as plugins: authentication, limits, persisted operations,
 * the signed caller and allow-listed headers to subgraphs, trace context.
 */
export function createGateway(
  settings: GatewaySettings,
  options: {
    logger: Logger;
    supergraph: SupergraphSource;
    planner: QueryPlanner;
    metrics: GatewayMetrics;
    /** The operations a safelisted client may run, by id; absent, ad-hoc queries and APQ. */
    safelist?: Safelist;
    /** What subscriptions may hold of this replica, and how they end. */
    subscriptions: SubscriptionPolicy;
    persistedQueries?: PersistedQueryStore;
    /** Checks client tokens (shared with the WebSocket endpoint); made from the settings when absent. */
    verify?: Verifier;
    /** Policies left out: for the benchmark's price of each (bench/gateways/patchbay.ts), never a deployment's. */
    without?: ReadonlySet<Policy>;
  },
): GatewayRuntime<ClientAuthContext> {
  const { client, limits } = settings;
  const { logger, supergraph, metrics, safelist } = options;
  const verify = options.verify ?? createVerifier(settings.process, logger);
  const signCaller = createCallerSigner(settings.process.INTERNAL_TOKEN_SECRET);

  // Subgraph URLs come from the supergraph unless <NAME>_SUBGRAPH_URL says otherwise; the
  // entries are worked out again for each new supergraph (hot reload may add subgraphs).
  // Subscriptions too are POSTed (as GraphQL over SSE): a subgraph answers the gateway's signed POSTs only.
  const EVERY_HTTP_SUBGRAPH = '*.http';
  const transportEntries: Record<string, { location?: string; options?: { method: 'POST' } }> = {
    [EVERY_HTTP_SUBGRAPH]: { options: { method: 'POST' } },
  };
  const routeSubgraphs = (sdl: string) => {
    for (const name of Object.keys(transportEntries)) if (name !== EVERY_HTTP_SUBGRAPH) delete transportEntries[name];
    for (const name of subgraphNames(sdl)) {
      const url = settings.subgraphUrls[subgraphUrlVariable(name)];
      if (url) transportEntries[name] = { location: url };
    }
  };
  routeSubgraphs(supergraph.current());

  const without = options.without ?? new Set<Policy>();
  // Each policy's plugins, and what it adds to every subgraph call (a function): those run in one hook.
  type Part = GatewayPlugin<ClientAuthContext> | SubgraphCallStep;
  const withCalls = ({ plugin, subgraphCall }: { plugin: GatewayPlugin; subgraphCall: SubgraphCallStep }): Part[] => [plugin, subgraphCall];
  const policies: Array<[Policy, () => Part[]]> = [
    ['metrics', () => withCalls(metrics)],
    ['cors', () => (settings.corsOrigins.length ? [useVaryOnOrigin()] : [])],
    ['authentication', () => [useClientAuth(verify, GRAPHQL_PATH, metrics.authFailed)]],
    ['subscriptions', () => [options.subscriptions.plugin]],
    ['event-ids', () => [useEventIds()]],
    ['json-bodies', () => [useJsonBodies({ logger, limits })]],
    ['request-limits', () => [useRequestLimits(limits)]],
    [
      'persisted-queries',
      () =>
        safelist
          ? useSafelist(safelist)
          : [
              useAutomaticPersistedQueries(
                options.persistedQueries ?? memoryPersistedQueryStore(settings.persistedQueries),
                metrics.persistedQueryRegistered,
              ),
            ],
    ],
    ['parser-limits', () => [useParserLimits(limits)]],
    ['shape-limits', () => [useShapeLimits(limits)]],
    ['no-suggestions', () => (settings.fieldSuggestions ? [] : [useNoSuggestions()])],
    ['request-errors', () => [useRequestErrors()]],
    ['demand-control', () => [useDemandControl(limits)]],
    ['incremental', () => (client.defer ? [useIncrementalOnlyWhenAccepted()] : [])],
    ['request-context', () => withCalls(useRequestContext(settings.subgraphTimeoutMs))],
    ['stale-marks', () => [useStaleMarks()]],
    ['cache-control', () => [useCacheControl(() => supergraph.document())]],
    ['caller-tokens', () => []], // the headers of propagateHeaders below
    ['request-signatures', () => [signSubgraphCalls(settings.process.INTERNAL_TOKEN_SECRET)]],
    // Without an exporter configured, no hook at all: tracing costs nothing when off.
    ['tracing', () => (exportsTraces(settings.process) ? withCalls(useTracing(client.name, GRAPHQL_PATH)) : [])],
  ];

  return createGatewayRuntime<ClientAuthContext>({
    supergraph: () => {
      routeSubgraphs(supergraph.current());
      return supergraph.document();
    },
    // Requests admitted under the previous supergraph finish on it; new ones use the new one.
    // (That needs the engine's own schema object: @defer and @stream are declared up front,
    // so that the defer plugin does not rebuild the schema to add them.)
    gracefulSchemaReload: { drainTimeout: 30_000 },
    ...(options.planner === 'rust' ? { unifiedGraphHandler: hybridQueryPlanner({ incremental: client.defer }) } : {}),
    ...(client.defer ? { additionalTypeDefs: INCREMENTAL_DELIVERY_SDL } : {}),
    transportEntries,
    graphqlEndpoint: GRAPHQL_PATH,
    // Request ids are ours (plugins/subgraph-headers.ts): validated, and without a logger per request.
    requestId: false,
    landingPage: false,
    logging: engineLogger(logger),
    maskedErrors: { maskError: createErrorMasker(logger), isDev: false },
    graphiql: settings.ide
      ? {
          title: `patchbay ${client.name}`,
          defaultQuery: '# Every request carries the token the page asked for. Try:\n{\n  me {\n    id\n    name\n  }\n}\n',
        }
      : false,
    renderGraphiQL: settings.ide ? renderIde : undefined,
    ...(settings.introspection ? {} : { disableIntrospection: { disableIf: () => true } }),
    cors: without.has('cors') ? false : corsFor(settings.corsOrigins),
    csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight'] },
    deferStream: client.defer,
    ...(without.has('caller-tokens')
      ? {}
      : { propagateHeaders: subgraphHeaders({ client: client.name, forwardHeaders: settings.forwardHeaders, signCaller }) }),
    plugins: () => {
      const parts = policies.flatMap(([name, parts]) => (without.has(name) ? [] : parts()));
      const steps = parts.filter((part): part is SubgraphCallStep => typeof part === 'function');
      const plugins = parts.filter((part): part is GatewayPlugin<ClientAuthContext> => typeof part !== 'function');
      return [...plugins, useSubgraphCalls(steps)];
    },
  });
}
