import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { getOperationAST } from 'graphql';
import { SpanKind, SpanStatusCode, extractContext, injectContext, isTracing, trace, tracer } from '../../kit/process/tracing.js';
import type { Context, Span } from '@opentelemetry/api';
import type { SubgraphCallStep } from './subgraph-calls.js';

interface RequestSpans {
  request: Span;
  context: Context;
  execute?: { span: Span; context: Context };
  /** Open from execution's start until its first subgraph call: the query plan (made, or found in the cache). */
  plan?: Span;
}

/**
 * The gateway's spans of a request, with explicit parents (the engine's pipeline runs through
 * hooks, not inside one call): the request (continuing a client's `traceparent`), its
 * execution, planning, and one client span per subgraph call, whose context is what the
 * subgraph receives in `traceparent`. Installed only where an exporter is configured; while
 * no SDK runs there (it failed to start, or has stopped) a request gets no spans, every later
 * hook finds none and costs a lookup, and the trace context from plugins/request-context.ts
 * goes out instead.
 */
export function useTracing(client: string, graphqlPath: string): { plugin: GatewayPlugin; subgraphCall: SubgraphCallStep } {
  const requests = new WeakMap<Request, RequestSpans>();
  const subgraphCalls = new WeakMap<object, Span>();
  const endPlan = (spans: RequestSpans) => {
    spans.plan?.end();
    spans.plan = undefined;
  };
  const plugin: GatewayPlugin = {
    onRequest({ request, url }) {
      if (!isTracing() || url.pathname !== graphqlPath || request.method === 'OPTIONS') return;
      const parent = extractContext((name) => request.headers.get(name));
      const span = tracer.startSpan(
        `${request.method} ${graphqlPath}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method, 'url.path': graphqlPath, 'patchbay.client': client },
        },
        parent,
      );
      requests.set(request, { request: span, context: trace.setSpan(parent, span) });
    },
    onExecute({ args }) {
      const spans = requests.get(args.contextValue.request);
      if (!spans) return;
      const operation = getOperationAST(args.document, args.operationName);
      const attributes = {
        'graphql.operation.type': operation?.operation ?? 'unknown',
        'graphql.operation.name': operation?.name?.value ?? 'anonymous',
      };
      spans.request.setAttributes(attributes);
      const execute = tracer.startSpan('graphql.execute', { attributes }, spans.context);
      spans.execute = { span: execute, context: trace.setSpan(spans.context, execute) };
      spans.plan = tracer.startSpan('graphql.plan', {}, spans.execute.context);
      return {
        onExecuteDone() {
          endPlan(spans);
          execute.end();
        },
      };
    },
    onSubgraphExecute({ subgraphName, executionRequest }) {
      const request = executionRequest.context?.request;
      const spans = request && requests.get(request);
      if (!spans) return;
      endPlan(spans);
      const span = tracer.startSpan(
        `subgraph ${subgraphName}`,
        { kind: SpanKind.CLIENT, attributes: { 'patchbay.subgraph': subgraphName } },
        spans.execute?.context ?? spans.context,
      );
      subgraphCalls.set(executionRequest, span);
      return ({ result }) => {
        if (!(Symbol.asyncIterator in result) && result.errors?.length) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(result.errors[0]?.extensions?.code ?? 'errors') });
        }
        span.end();
      };
    },
    onResponse({ request, response }) {
      const spans = requests.get(request);
      if (!spans) return;
      requests.delete(request);
      endPlan(spans);
      spans.request.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) spans.request.setStatus({ code: SpanStatusCode.ERROR });
      spans.request.end();
    },
  };
  // The call's own span is what the subgraph continues.
  const subgraphCall: SubgraphCallStep = ({ executionRequest, headers }) => {
    const span = executionRequest && subgraphCalls.get(executionRequest);
    if (span) injectContext(span, headers);
  };
  return { plugin, subgraphCall };
}
