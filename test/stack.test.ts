import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  GraphQLSchema,
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
  specifiedDirectives,
  type IntrospectionQuery,
} from 'graphql';
import { CreateUploadUrlDocument, HomeDocument, TrackDocument } from '../clients/mobile/__generated__/operations.js';
import { DashboardDocument, EventCountsDocument, SendEmailDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { apiSchemaFile } from '../gateway/clients/index.js';
import { mobile as mobileClient } from '../gateway/clients/mobile.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/process/service.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { expectNoLeaks, graphql, persisted, until } from './helpers.js';
import { eventMessageId } from '../subgraphs/analytics/events.js';

let stack: Stack;
let web: string;
let mobile: string;

beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' } });
  web = `${stack.gateways.web!.url}/graphql`;
  mobile = `${stack.gateways.mobile!.url}/graphql`;
});
afterAll(() => stack?.close());
beforeEach(() => stack.sandbox.resetCalls());

const DAY = 86_400_000;
const seed = () => stack.sandbox.seed;
const filesOf = (userId: string) => seed().files.filter((f) => f.key.startsWith(`users/${userId}/`));
const eventsOf = (userId: string) =>
  seed()
    .events.filter((e) => e.properties.distinct_id === userId && e.properties.time * 1000 >= Date.now() - 30 * DAY)
    .sort((a, b) => b.properties.time - a.properties.time);
/** A user with at least `files` files, messages and events: a full Dashboard. */
function busyUser(files = 5) {
  const user = seed().users.find(
    (u) => filesOf(u.id).length >= files && seed().messages.some((m) => m.to_email === u.email) && eventsOf(u.id).length >= 10,
  );
  if (!user) throw new Error('seed has no busy user');
  return user;
}

describe('Dashboard through the web gateway', () => {
  test('joins all four subgraphs into the data the sandbox holds', async () => {
    const user = busyUser();
    const { status, body } = await graphql(web, DashboardDocument, { userId: user.id });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const got = body.data!.user!;
    expect(got).toMatchObject({ id: user.id, name: user.name, email: user.email });

    const files = filesOf(user.id);
    expect(got.storageUsedBytes).toBe(files.reduce((sum, f) => sum + f.size, 0));
    expect(got.files!.nodes.map((f) => f.key)).toEqual(files.slice(0, 5).map((f) => f.key));
    expect(got.files!.nodes[0]).toMatchObject({
      size: files[0]!.size,
      contentType: files[0]!.contentType,
      name: files[0]!.key.split('/').at(-1),
    });
    expect(got.files!.pageInfo.hasNextPage).toBe(files.length > 5);

    const messages = seed().messages.filter((m) => m.to_email === user.email);
    expect(got.emailMessages!.map((m) => m.id)).toEqual(messages.slice(0, 5).map((m) => m.msg_id));

    const events = eventsOf(user.id);
    expect(got.recentEvents!.map((e) => e.name)).toEqual(events.slice(0, 10).map((e) => e.event));
    expect(got.lastSeenAt).toBe(new Date(events[0]!.properties.time * 1000).toISOString());
  });

  test('download URLs are presigned: the URL downloads, a tampered one is refused', async () => {
    const user = busyUser();
    const { body } = await graphql(web, DashboardDocument, { userId: user.id });
    const file = body.data!.user!.files!.nodes[0]!;
    const ok = await fetch(file.downloadUrl);
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(file.size);

    const tampered = file.downloadUrl.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800');
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  test('an unknown user is null, not an error', async () => {
    const { body } = await graphql(web, DashboardDocument, { userId: 'usr_nobody' });
    expect(body).toEqual({ data: { user: null } });
  });
});

describe('UserList through the web gateway', () => {
  test('50 users with storage, last seen and deliverability', async () => {
    const { body } = await graphql(web, UserListDocument, { first: 50 });
    expect(body.errors).toBeUndefined();
    const nodes = body.data!.users.nodes;
    expect(nodes.map((u) => u.id)).toEqual(
      seed()
        .users.slice(0, 50)
        .map((u) => u.id),
    );
    const bounced = new Set(seed().bounces.map((b) => b.email));
    for (const node of nodes) {
      expect(node.storageUsedBytes).toBe(filesOf(node.id).reduce((sum, f) => sum + f.size, 0));
      const last = eventsOf(node.id)[0];
      expect(node.lastSeenAt).toBe(last ? new Date(last.properties.time * 1000).toISOString() : null);
      expect(node.emailDeliverability).toBe(bounced.has(node.email) ? 'BOUNCED' : 'DELIVERABLE');
    }
    expect(body.data!.users.pageInfo.hasNextPage).toBe(true);

    const next = await graphql(web, UserListDocument, { first: 50, after: body.data!.users.pageInfo.endCursor });
    expect(next.body.data!.users.nodes[0]!.id).toBe(seed().users[50]!.id);
  });

  test('a page size out of range is a clear input error', async () => {
    // (A page of 1000 would be refused sooner, by the cost limit.)
    const { body } = await graphql(web, UserListDocument, { first: 0 });
    expect(body.errors?.[0]).toMatchObject({ message: 'first must be between 1 and 100, got 0', extensions: { code: 'BAD_USER_INPUT' } });
    expectNoLeaks(body);
  });
});

describe('mobile gateway', () => {
  test('Home joins files, messages and events', async () => {
    const user = busyUser(10);
    const { body } = await persisted(mobile, HomeDocument, { userId: user.id });
    expect(body.errors).toBeUndefined();
    expect(body.data!.user!.files!.nodes).toHaveLength(10);
    expect(body.data!.user!.recentEvents!.map((e) => e.name)).toEqual(
      eventsOf(user.id)
        .slice(0, 5)
        .map((e) => e.event),
    );
    expect(body.data!.user!.emailMessages!.map((m) => m.id)).toEqual(
      seed()
        .messages.filter((m) => m.to_email === user.email)
        .slice(0, 3)
        .map((m) => m.msg_id),
    );
  });

  test('upload URL: a PUT of the declared type and size stores the file, which then lists; any other is refused by storage', async () => {
    const user = seed().users[7]!;
    const content = 'hello patchbay';
    const { body } = await persisted(mobile, CreateUploadUrlDocument, {
      input: { userId: user.id, fileName: 'zz-report.txt', contentType: 'text/plain', size: content.length },
    });
    const upload = body.data!.createUploadUrl;
    expect(upload.method).toBe('PUT');
    const signedHeaders = Object.fromEntries(upload.headers.map((h) => [h.name, h.value]));
    expect(signedHeaders).toEqual({ 'Content-Type': 'text/plain', 'Content-Length': String(content.length) });
    // Another type, a larger body, a smaller one: storage checks the signature over both, as S3 does.
    for (const [type, sent] of [
      ['image/png', content],
      ['text/plain', `${content}!`],
      ['text/plain', 'hello'],
    ] as const) {
      const refused = await fetch(upload.url, { method: 'PUT', headers: { 'Content-Type': type }, body: sent });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('SignatureDoesNotMatch');
    }
    const put = await fetch(upload.url, { method: 'PUT', headers: { 'Content-Type': signedHeaders['Content-Type']! }, body: content });
    expect(put.status).toBe(200);

    const dashboard = await graphql(web, DashboardDocument, { userId: user.id });
    const files = dashboard.body.data!.user!.storageUsedBytes;
    expect(files).toBe(filesOf(user.id).reduce((sum, f) => sum + f.size, 0) + content.length);
  });

  test('uploads are bounded: a size over the limit, a type not allowed (HTML, SVG) are refused', async () => {
    const ask = (size: number, contentType: string) =>
      persisted(mobile, CreateUploadUrlDocument, { input: { userId: 'usr_00001', fileName: 'x.bin', contentType, size } });
    for (const [size, type, field] of [
      [50 * 2 ** 20, 'image/png', 'input.size'],
      [0, 'image/png', 'input.size'],
      [1.5, 'image/png', 'input.size'],
      [10, 'text/html', 'input.contentType'],
      [10, 'image/svg+xml', 'input.contentType'],
      [10, 'image/*', 'input.contentType'],
    ] as const) {
      const { body } = await ask(size, type);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  test('downloads: images and PDF open in the browser as their own type; anything else is an attachment', async () => {
    const user = seed().users[0]!;
    const { body } = await graphql(web, DashboardDocument, { userId: user.id });
    const files = body.data!.user!.files!.nodes;
    const image = files.find((f) => /\.(png|jpg)$/.test(f.name))!;
    const other = files.find((f) => /\.(txt|docx|csv)$/.test(f.name))!;
    const imageUrl = new URL(image.downloadUrl);
    expect(imageUrl.searchParams.get('response-content-disposition')).toBe('inline');
    expect(imageUrl.searchParams.get('response-content-type')).toMatch(/^image\/(png|jpeg)$/);
    const download = await fetch(other.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename*=UTF-8''${encodeURIComponent(other.name)}`);
    // The overrides are signed: a URL edited to serve inline is refused.
    const edited = new URL(other.downloadUrl);
    edited.searchParams.set('response-content-disposition', 'inline');
    expect((await fetch(edited)).status).toBe(403);
  });

  test('a file name with a slash is refused', async () => {
    const { body } = await persisted(mobile, CreateUploadUrlDocument, {
      input: { userId: 'usr_00001', fileName: '../other/x.txt', contentType: 'text/plain', size: 1 },
    });
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test("tracked events show up as the user's recent events; a repeated id is kept once", async () => {
    const user = seed().users[3]!;
    const events = [{ id: 'evt-test-1', userId: user.id, name: 'Checkout', properties: [{ key: 'plan', value: 'pro' }] }];
    const first = await persisted(mobile, TrackDocument, { events });
    expect(first.body.data!.track).toMatchObject({ accepted: 1, eventIds: ['evt-test-1'] });
    await persisted(mobile, TrackDocument, { events });
    // Delivery to Segment follows the acknowledgement (the outbox): wait for it, then ask.
    // Segment keeps it under the user's message id for it (subgraphs/analytics/events.ts).
    const messageId = eventMessageId(user.id, 'evt-test-1');
    const ingested = () => stack.sandbox.providers.segment.ingested.filter((e) => e.properties.$insert_id === messageId).length;
    await until(() => ingested() > 0, { what: 'the event at Segment' });
    expect(ingested()).toBe(1);
    const home = await persisted(mobile, HomeDocument, { userId: user.id });
    const checkouts = home.body.data!.user!.recentEvents!.filter((e) => e.name === 'Checkout');
    expect(checkouts).toHaveLength(1);
  });
});

describe('web mutations and queries', () => {
  test('sendEmail goes out through SendGrid with our send id in the personalization custom_args', async () => {
    const { body } = await graphql(web, SendEmailDocument, {
      input: { to: 'someone@example.com', subject: 'Hello', text: 'Hi there' },
    });
    expect(body.errors).toBeUndefined();
    const result = body.data!.sendEmail;
    expect(result.provider).toBe('sendgrid');
    const sent = stack.sandbox.providers.sendgrid.sent.find((m) => m.messageId === result.messageId);
    expect(sent?.body.personalizations?.[0]?.custom_args).toEqual({ patchbay_send_id: result.sendId });
    expect(stack.sandbox.calls().sendgrid).toEqual({ mailSend: 1 });
  });

  test('sendEmail with a bad address is refused before any upstream call', async () => {
    const { body } = await graphql(web, SendEmailDocument, { input: { to: 'not an address', subject: 'x', text: 'y' } });
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(stack.sandbox.calls().sendgrid).toEqual({});
  });

  test('eventCounts counts per day over the range', async () => {
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 6 * DAY).toISOString().slice(0, 10);
    const { body } = await graphql(web, EventCountsDocument, { event: 'Search', from, to, interval: 'DAY' });
    expect(body.errors).toBeUndefined();
    const series = body.data!.eventCounts;
    expect(series.points).toHaveLength(7);
    const start = Date.parse(`${from}T00:00:00Z`) / 1000;
    const expected = seed().events.filter((e) => e.event === 'Search' && e.properties.time >= start).length;
    expect(series.total).toBeGreaterThanOrEqual(expected);
    expect(series.total).toBe(series.points.reduce((sum, p) => sum + p.count, 0));
  });

  test('eventCounts refuses a range that runs backwards', async () => {
    const { body } = await graphql(web, EventCountsDocument, { event: 'Search', from: '2026-02-01', to: '2026-01-01' });
    expect(body.errors?.[0]).toMatchObject({ message: 'from must be on or before to', extensions: { code: 'BAD_USER_INPUT' } });
  });

  test('health, readiness and metrics on every process', async () => {
    for (const service of [...Object.values(stack.gateways), ...Object.values(stack.subgraphs)]) {
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${service.metricsUrl}/metrics`);
      expect(metrics.status).toBe(200);
      // Not on the port clients reach.
      expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
    }
    const metrics = await (await fetch(`${stack.subgraphs.storage!.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/patchbay_upstream_requests_total\{.*source="storage.s3".*\} \d+/);
    // Readiness reports upstream breakers for operators without depending on them.
    expect(await (await fetch(`${stack.subgraphs.email!.url}/readyz`)).json()).toEqual({
      status: 'ready',
      breakers: { 'email.sendgrid': 'closed', 'email.mailgun': 'closed', 'email.postmark': 'closed' },
    });
  });
});

describe('contracts', () => {
  // The mobile program with its safelist off, so ad-hoc queries reach validation.
  let adhoc: RunningService;
  let mobileAdhoc: string;
  beforeAll(async () => {
    adhoc = await startGateway(mobileClient, {
      ...stack.subgraphUrls,
      MOBILE_GATEWAY_PORT: '0',
      MOBILE_SAFELIST: 'false',
      LOG_LEVEL: 'silent',
    });
    mobileAdhoc = `${adhoc.url}/graphql`;
  });
  afterAll(() => adhoc?.close());

  test('a mobile request for a field outside its contract fails validation as if the field did not exist', async () => {
    const root = await graphql(mobileAdhoc, '{ users(first: 1) { nodes { id } } }');
    expect(root.status).toBe(400);
    // No "Did you mean" on mobile: suggestions would reveal the schema.
    expect(root.body.errors).toMatchObject([
      { message: 'Cannot query field "users" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
    ]);
    const field = await graphql(mobileAdhoc, '{ user(id: "usr_00001") { storageUsedBytes } }');
    expect(field.body.errors?.[0]?.message).toBe('Cannot query field "storageUsedBytes" on type "User".');
    // The same query is valid on web.
    expect((await graphql(web, '{ user(id: "usr_00001") { storageUsedBytes } }')).body.errors).toBeUndefined();
  });

  test('a field hidden from mobile still links entities: emailMessages needs the hidden User.email', async () => {
    const { body } = await graphql(mobileAdhoc, '{ user(id: "usr_00001") { emailMessages(first: 1) { subject } } }');
    expect(body.errors).toBeUndefined();
    expect(body.data).toMatchObject({ user: { emailMessages: expect.any(Array) } });
  });

  test('web introspection shows exactly its committed API schema; mobile does not introspect', async () => {
    const introspected = await graphql<IntrospectionQuery, Record<string, never>>(web, getIntrospectionQuery());
    // Types and fields as committed; the directives the gateway adds are its own: @defer and
    // @stream (incremental delivery) and the demand-control ones (@cost, @listSize), @tag
    // (contracts), and @cacheControl, composed from the subgraphs (how long an answer may be kept).
    const typesOnly = (schema: GraphQLSchema) =>
      printSchema(lexicographicSortSchema(new GraphQLSchema({ ...schema.toConfig(), directives: specifiedDirectives })));
    const served = buildClientSchema(introspected.body.data!);
    expect(typesOnly(served)).toBe(typesOnly(buildSchema(readFileSync(apiSchemaFile('web'), 'utf8'))));
    expect(
      served
        .getDirectives()
        .map((d) => d.name)
        .filter((name) => !specifiedDirectives.some((d) => d.name === name))
        .sort(),
    ).toEqual(['cacheControl', 'cost', 'defer', 'listSize', 'stream', 'tag']);
    const refused = await graphql(mobileAdhoc, getIntrospectionQuery());
    expect(refused.body.errors?.[0]?.message).toMatch(/introspection has been disabled/i);
  });
});
