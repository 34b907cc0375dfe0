import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { TracingConfig } from './config.js';
import { graphqlCodeOf, nameOf } from './caught.js';

/*
 * OpenTelemetry, by its standard variables (TracingConfig, kit/process/config.ts). Every process
 * builds its spans with the API (a no-op until an SDK is registered); the SDK is loaded and
 * started only when an OTLP endpoint is set, so tracing costs nothing otherwise.
 */

export const tracer = trace.getTracer('patchbay');

let exporting = false;
/** Whether spans are exported (an SDK runs in this process). */
export const isTracing = () => exporting;

/** Whether a process with these settings exports spans: an OTLP endpoint set, the SDK not disabled. */
export const exportsTraces = (config: TracingConfig): boolean =>
  Boolean(config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT) && config.OTEL_SDK_DISABLED !== 'true';

/**
 * Starts OpenTelemetry's Node SDK when the settings export spans (exportsTraces): the exporter,
 * protocol, sampler and resource come from the standard variables. Returns what flushes and
 * stops it.
 */
export async function startTracing(serviceName: string, config: TracingConfig): Promise<() => Promise<void>> {
  if (!exportsTraces(config)) return async () => {};
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName: config.OTEL_SERVICE_NAME ?? serviceName, instrumentations: [] });
  sdk.start();
  exporting = true;
  return async () => {
    exporting = false;
    await sdk.shutdown();
  };
}

/** Runs `work` in a span that is the active one for everything `work` starts; ends it, recording a failure. */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    options.parent ?? context.active(),
  );
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => work(span));
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed with the error's type and message (no stack, no upstream body). */
export function failed(span: Span, error: unknown): void {
  const type = graphqlCodeOf(error) ?? nameOf(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  span.setAttribute('error.type', type);
}

/** The trace context a request carries (W3C traceparent, tracestate), or the root; `header` reads one request header. */
export function extractContext(header: (name: string) => string | string[] | null | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, null, {
    keys: () => ['traceparent', 'tracestate'],
    get: (_carrier, key) => header(key) ?? undefined,
  });
}

/** A span's W3C traceparent, to carry where no header goes (an event in a stream); undefined when nothing is traced. */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return carrier.traceparent;
}

/** Writes `span`'s trace context into outgoing headers (traceparent, tracestate). */
export function injectContext(span: Span, headers: Record<string, string>): void {
  propagation.inject(trace.setSpan(context.active(), span), headers);
}

export { SpanKind, SpanStatusCode, context, trace };
