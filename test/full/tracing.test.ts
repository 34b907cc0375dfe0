/**
 * OpenTelemetry end to end: the web gateway and the subgraphs as their own processes export
 * spans by OTLP/HTTP (some in JSON, some in protobuf) to a receiver this test runs, and one
 * client request is one trace: the client's span, the gateway's request, planning and each
 * subgraph call, the subgraph's operation, its DataLoader batch, its source call, each attempt
 * (with retry reason), and the provider's HTTP call, each the child of the one before.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { FREE_SANDBOX_PORTS, as, openEventStream, streamFollowers, until } from '../helpers.js';
import { startOtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { bareEnv, startProgram, startProgramsTogether, tsxProgram, type RunningProgram } from '../../scripts/programs.js';
import { envName } from '../../kit/process/env-name.js';
import { SCOPES } from '../../kit/caller/scopes.js';

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let sandbox: Sandbox;
const programs: RunningProgram[] = [];
let gateway: RunningProgram;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '20' });
  const otel = (protocol: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    LOG_LEVEL: 'info',
  });
  const protocolOf: Record<string, string> = { accounts: 'http/json', storage: 'http/protobuf', analytics: 'http/json' };
  const subgraphs = await startProgramsTogether(
    Object.entries(protocolOf).map(([name, protocol]) =>
      startProgram(
        tsxProgram('scripts/run-subgraph.ts', name),
        bareEnv({ ...sandbox.env(), ...otel(protocol), [envName(name, 'PORT')]: '0', [envName(name, 'METRICS_PORT')]: '0' }),
      ),
    ),
  );
  programs.push(...subgraphs);
  // The bucket's notifications reach the storage subgraph started here.
  sandbox.deliverWebhooksTo('storage', subgraphs[1]!.url);
  const urls = Object.keys(protocolOf).map((name, i) => [envName(name, 'SUBGRAPH_URL'), `${subgraphs[i]!.url}/graphql`]);
  gateway = await startProgram(
    tsxProgram('gateway/index.ts', 'web'),
    bareEnv({ ...Object.fromEntries(urls), ...otel('http/protobuf'), WEB_GATEWAY_PORT: '0', WEB_METRICS_PORT: '0' }),
  );
  programs.push(gateway);
}, 90_000);

afterAll(async () => {
  await Promise.all(programs.map((program) => program.stop()));
  await sandbox?.close();
  await receiver?.close();
});

/** The spans of a trace once `complete` says they have all arrived (or what arrived in 10 s, for the assertions to show). */
async function spansOf(traceId: string, complete: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  const spans = () => receiver.spans.filter((span) => span.traceId === traceId);
  await until(() => complete(spans()), { timeoutMs: 10_000, what: `the spans of trace ${traceId}` }).catch(() => undefined);
  return spans();
}

describe('one client request is one trace, across processes', () => {
  test("gateway -> planning -> subgraph call -> the subgraph's operation -> batch -> source call -> attempts -> HTTP call", async () => {
    // Storage fails its first listing once: the source retries, and the trace shows why.
    sandbox.faults('s3', [{ operation: 'ListObjectsV2', status: 503, times: 1 }]);
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01`, ...(await as('usr_00001')) },
      body: JSON.stringify({ query: 'query Traced { me { id name files(first: 2) { nodes { key } } } }' }),
    });
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();

    const spans = await spansOf(
      traceId,
      (found) =>
        found.some((s) => s.name === 'HTTP GET' && s.service === 'subgraph-storage' && s.attributes['http.response.status_code'] === 200) &&
        found.some((s) => s.service === 'subgraph-accounts' && s.name === 'HTTP GET') &&
        // The gateway's request span ends last, and may be exported in a later batch.
        found.some((s) => s.service === 'gateway-web' && s.kind === 2),
    );
    const one = (predicate: (span: ReceivedSpan) => boolean, what: string) => {
      const found = spans.filter(predicate);
      expect({ what, count: found.length }).toEqual({ what, count: 1 });
      return found[0]!;
    };
    const childOf = (parent: ReceivedSpan, predicate: (span: ReceivedSpan) => boolean, what: string) =>
      one((s) => s.parentSpanId === parent.spanId && predicate(s), what);

    // The gateway continues the client's trace.
    const request = one((s) => s.service === 'gateway-web' && s.kind === 2, 'gateway request');
    expect(request.parentSpanId).toBe(clientSpan);
    expect(request.attributes).toMatchObject({
      'graphql.operation.name': 'Traced',
      'http.response.status_code': 200,
      'patchbay.client': 'web',
    });
    const execute = childOf(request, (s) => s.name === 'graphql.execute', 'execute');
    childOf(execute, (s) => s.name === 'graphql.plan', 'planning');

    for (const [subgraph, loader, sourceCall] of [
      ['accounts', 'accounts.user', 'accounts.api getUsers'],
      ['storage', 'storage.folder', 'storage.s3 listObjects'],
    ] as const) {
      const call = childOf(execute, (s) => s.name === `subgraph ${subgraph}` && s.kind === 3, `gateway call to ${subgraph}`);
      const operation = childOf(call, (s) => s.service === `subgraph-${subgraph}` && s.kind === 2, `${subgraph} operation`);
      expect(operation.name).toMatch(/^query /);
      const batch = childOf(operation, (s) => s.name === `dataloader.batch ${loader}`, `${subgraph} batch`);
      expect(batch.attributes['patchbay.batch.size']).toBe(1);
      const source = childOf(batch, (s) => s.name === sourceCall, `${subgraph} source call`);
      expect(source.attributes).toMatchObject({ 'patchbay.breaker_state': 'closed' });
      const attempts = spans
        .filter((s) => s.parentSpanId === source.spanId && s.name.endsWith(' attempt'))
        .sort((a, b) => Number(a.attributes['patchbay.attempt']) - Number(b.attributes['patchbay.attempt']));
      for (const attempt of attempts) {
        const http = childOf(
          attempt,
          (s) => s.kind === 3 && s.name === 'HTTP GET',
          `${subgraph} HTTP call of attempt ${attempt.attributes['patchbay.attempt']}`,
        );
        expect(http.attributes['server.address']).toBe('127.0.0.1');
      }
      if (subgraph === 'storage') {
        // The first listing answered 503: a second attempt, saying why.
        expect(attempts.map((a) => [a.attributes['patchbay.attempt'], a.attributes['patchbay.retry_reason'] ?? null, a.status])).toEqual([
          [1, null, 2],
          [2, 'UPSTREAM_UNAVAILABLE 503', 0],
        ]);
      } else {
        expect(attempts).toHaveLength(1);
      }
    }
    // Both protocols were decoded: JSON and protobuf exporters are in this trace.
    expect([...receiver.protocols].sort()).toEqual(['http/json', 'http/protobuf']);
  });

  test('a cached upstream answer is a source span marked as a cache hit, with no attempt', async () => {
    const ask = async () => {
      const traceId = randomBytes(16).toString('hex');
      await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
          ...(await as('usr_00002', SCOPES.readAnalytics)),
        },
        // Event counts are kept by the source (HTTP cache, 60 s); what a screen reads per user is in the entity caches.
        body: JSON.stringify({ query: '{ eventCounts(event: "Search", from: "2026-11-01", to: "2026-11-30") { total } }' }),
      });
      const spans = await spansOf(traceId, (found) => found.some((s) => s.name === 'analytics.mixpanel segmentation'));
      return spans.find((s) => s.name === 'analytics.mixpanel segmentation')!;
    };
    expect((await ask()).attributes['patchbay.cache']).toBe('miss');
    const second = await ask();
    expect(second.attributes['patchbay.cache']).toBe('hit');
    expect(receiver.spans.filter((s) => s.parentSpanId === second.spanId)).toEqual([]);
  });
});

describe('an event is one trace from the webhook that told it to each reader it is pushed to', () => {
  test('the bucket notification -> the event appended -> delivered to the subscription of its user', async () => {
    const stream = await openEventStream(`${gateway.url}/graphql`, await as('usr_00003'), {
      query: 'subscription { storedObjectCreated { eventId file { name } } }',
    });
    try {
      await until(async () => (await streamFollowers(programs[1]!.metricsUrl!, 'storage')) === 1, {
        what: 'the subscription to be followed',
      });
      sandbox.providers.s3.store({ key: 'users/usr_00003/traced.png', body: Buffer.from('traced'), contentType: 'image/png' });
      await until(() => stream.events.length > 0, { what: 'the pushed file' });
      const eventId = (stream.events[0]!.data as { storedObjectCreated: { eventId: string } }).storedObjectCreated.eventId;
      await until(() => receiver.spans.some((s) => s.name === 'event.deliver storage' && s.attributes['patchbay.event.id'] === eventId), {
        what: 'the delivery span',
      });
      const deliver = receiver.spans.find((s) => s.name === 'event.deliver storage' && s.attributes['patchbay.event.id'] === eventId)!;
      const append = receiver.spans.find((s) => s.spanId === deliver.parentSpanId);
      const webhook = append && receiver.spans.find((s) => s.spanId === append.parentSpanId);
      expect({
        append: append?.name,
        id: append?.attributes['patchbay.event.id'],
        webhook: webhook?.name,
        trace: webhook?.traceId,
      }).toEqual({
        append: 'event.append storage',
        id: eventId,
        webhook: 'POST /webhooks/s3',
        trace: deliver.traceId,
      });
      expect(deliver.attributes['patchbay.event.pushed']).toBe(true);
    } finally {
      await stream.close();
    }
  });
});
