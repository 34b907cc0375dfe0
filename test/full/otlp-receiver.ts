/**
 * An OTLP/HTTP trace receiver for tests: it takes what OpenTelemetry's exporters send to
 * `/v1/traces`, in JSON (`http/json`) or protobuf (`http/protobuf`), decodes it and keeps the
 * spans with their service's name. The protobuf schema below is the part of OTLP's
 * `trace.proto` / `common.proto` / `resource.proto` that a span's identity, names, kind,
 * status and attributes need.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: number;
}

const anyValue = {
  oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue'] } },
  fields: {
    stringValue: { type: 'string', id: 1 },
    boolValue: { type: 'bool', id: 2 },
    intValue: { type: 'int64', id: 3 },
    doubleValue: { type: 'double', id: 4 },
  },
};
const root = protobuf.Root.fromJSON({
  nested: {
    AnyValue: anyValue,
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
    Span: {
      fields: {
        traceId: { type: 'bytes', id: 1 },
        spanId: { type: 'bytes', id: 2 },
        parentSpanId: { type: 'bytes', id: 4 },
        name: { type: 'string', id: 5 },
        kind: { type: 'int32', id: 6 },
        attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
        status: { type: 'Status', id: 15 },
      },
    },
    ScopeSpans: { fields: { spans: { rule: 'repeated', type: 'Span', id: 2 } } },
    ResourceSpans: { fields: { resource: { type: 'Resource', id: 1 }, scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 } } },
    ExportTraceServiceRequest: { fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
  },
});
const ExportTraceServiceRequest = root.lookupType('ExportTraceServiceRequest');

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value?: OtlpValue }> };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: Id;
        spanId: Id;
        parentSpanId?: Id;
        name: string;
        kind?: number;
        attributes?: Array<{ key: string; value?: OtlpValue }>;
        status?: { code?: number };
      }>;
    }>;
  }>;
}

/** A trace or span id: hex in OTLP's JSON, bytes in its protobuf. */
type Id = string | number[];
const hexOf = (id: Id | undefined) => (typeof id === 'string' ? id : Buffer.from(id ?? []).toString('hex'));

const valueOf = (value: OtlpValue | undefined) =>
  value?.stringValue ?? value?.boolValue ?? (value?.intValue !== undefined ? Number(value.intValue) : (value?.doubleValue ?? ''));
const attributesOf = (list: Array<{ key: string; value?: OtlpValue }> = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const protocols = new Set<string>();
  const keep = (request: OtlpRequest) => {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          spans.push({
            service,
            traceId: hexOf(span.traceId),
            spanId: hexOf(span.spanId),
            parentSpanId: hexOf(span.parentSpanId),
            name: span.name,
            kind: span.kind ?? 0,
            attributes: attributesOf(span.attributes),
            status: span.status?.code ?? 0,
          });
        }
      }
    }
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      const body = Buffer.concat(chunks);
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('application/json')) {
        protocols.add('http/json');
        keep(JSON.parse(body.toString('utf8')) as OtlpRequest);
      } else {
        protocols.add('http/protobuf');
        keep(ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { bytes: Array, longs: Number }) as OtlpRequest);
      }
      res
        .writeHead(200, { 'content-type': type.startsWith('application/json') ? 'application/json' : 'application/x-protobuf' })
        .end(type.startsWith('application/json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    protocols,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
