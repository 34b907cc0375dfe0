/**
 * Upload completions, pushed: the sandbox's S3 tells each stored object as S3 tells EventBridge
 * and an API destination posts it on (its connection's API key), the storage subgraph verifies
 * and deduplicates the notification and tells its event stream, and `storedObjectCreated`
 * pushes the file, joined from storage (its content type, a download URL) and its owner
 * joined from accounts, through the web gateway (graphql-sse's client) and through the mobile
 * gateway by persisted-operation id. A user receives only their own files; the admin scope
 * anyone's.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createClient } from 'graphql-sse';
import { CreateUploadUrlDocument } from '../clients/mobile/__generated__/operations.js';
import { persistedManifestFile } from '../gateway/clients/index.js';
import { mobile } from '../gateway/clients/mobile.js';
import { persistedQueryExtension } from '../gateway/manifest.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { providerEntry } from '../subgraphs/registry.js';
import { as, graphql, openEventStream, streamFollowers, until } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
});
afterAll(() => stack?.close());

const FILE_STORED = `subscription FileStored($userId: ID, $after: String) {
  storedObjectCreated(userId: $userId, after: $after) { eventId file { key name size contentType downloadUrl } owner { id name } }
}`;

interface Stored {
  eventId: string;
  file: { key: string; name: string; size: number; contentType: string | null; downloadUrl: string };
  owner: { id: string; name: string };
}

/** One subscriber of the web gateway (graphql-sse's own client), as `headers` say. */
function subscriber(headers: Record<string, string>, variables: { userId?: string; after?: string } = {}) {
  const client = createClient({ url: `${stack.gateways.web!.url}/graphql`, headers, retryAttempts: 0 });
  const files: Stored[] = [];
  const errors: Array<{ message: string; extensions?: Record<string, unknown> }> = [];
  const unsubscribe = client.subscribe<{ storedObjectCreated: Stored }>(
    { query: FILE_STORED, variables },
    {
      next: (result) => {
        if (result.data?.storedObjectCreated) files.push(result.data.storedObjectCreated);
        errors.push(...((result.errors ?? []) as unknown as typeof errors));
      },
      error: (error) => errors.push({ message: String(error) }),
      complete: () => undefined,
    },
  );
  return {
    files,
    errors,
    stop() {
      unsubscribe();
      client.dispose();
    },
  };
}

/** What the storage subgraph's stream has appended, by its metrics. */
async function appended(): Promise<number> {
  const text = await (await fetch(`${stack.subgraphs.storage!.metricsUrl}/metrics`)).text();
  return Number(/^patchbay_event_stream_events_total\{[^}]*stream="storage"[^}]*outcome="appended"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Uploads as an app does: an upload URL from the gateway, then a PUT of the bytes to storage. */
async function upload(userId: string, fileName: string, bytes = Buffer.from('%PNG fake image bytes')) {
  const { body } = await graphql(
    `${stack.gateways.web!.url}/graphql`,
    CreateUploadUrlDocument,
    { input: { userId, fileName, contentType: 'image/png', size: bytes.length } },
    await as(userId),
  );
  const target = body.data!.createUploadUrl;
  const put = await fetch(target.url, {
    method: 'PUT',
    headers: Object.fromEntries(target.headers.map((h) => [h.name, h.value])),
    body: bytes,
  });
  expect(put.status).toBe(200);
  return target.key;
}

describe('storedObjectCreated', () => {
  test("a user's upload reaches them, joined from storage and accounts; another user sees nothing of it; the admin scope sees it", async () => {
    const [alice, bob] = stack.sandbox.seed.users;
    const own = subscriber(await as(alice!.id));
    const other = subscriber(await as(bob!.id));
    const admin = subscriber(await as('usr_support', 'admin'), { userId: alice!.id });
    const streams = [own, other, admin];
    try {
      // Subscriptions follow from now: each is open once the storage subgraph follows it.
      await until(async () => (await streamFollowers(stack.subgraphs.storage!.metricsUrl!, 'storage')) === 3, {
        what: 'three followers of the storage stream',
      });
      const key = await upload(alice!.id, `photo-${randomUUID()}.png`);
      await until(() => own.files.length > 0 && admin.files.length > 0, { what: 'the upload to be pushed' });
      await upload(bob!.id, `bob-${randomUUID()}.png`);
      await until(() => other.files.length > 0 || other.errors.length > 0, { what: "Bob's own upload" });
      expect(other.errors).toEqual([]);
      expect(own.errors).toEqual([]);
      expect(own.files).toEqual([
        {
          eventId: expect.stringMatching(/^\d+-\d+$/),
          file: {
            key,
            name: key.split('/').at(-1),
            size: 21,
            contentType: 'image/png',
            downloadUrl: expect.stringContaining(encodeURIComponent(key.split('/').at(-1)!)),
          },
          owner: { id: alice!.id, name: alice!.name },
        },
      ]);
      expect(admin.files).toEqual(own.files);
      expect(other.files.map((f) => f.owner.id)).toEqual([bob!.id]);
    } finally {
      for (const s of streams) s.stop();
    }
  });

  test("another user's files need the admin scope: FORBIDDEN", async () => {
    const [alice, bob] = stack.sandbox.seed.users;
    const stream = await openEventStream(`${stack.gateways.web!.url}/graphql`, await as(bob!.id), {
      query: FILE_STORED,
      variables: { userId: alice!.id },
    });
    try {
      await until(() => stream.events.length > 0, { what: 'the refusal' });
      expect(stream.events[0]!.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    } finally {
      await stream.close();
    }
  });

  test('the mobile app subscribes by its persisted operation id over SSE and resumes after its last event id', async () => {
    const [, , carol] = stack.sandbox.seed.users;
    const url = `${stack.gateways.mobile!.url}/graphql`;
    const headers = { ...(await as(carol!.id)), 'x-app-version': '9.9.9' };
    const extensions = persistedQueryExtension(persistedManifestFile(mobile), 'FileStored');
    const first = await openEventStream(url, headers, { extensions, variables: {} });
    let lastEventId: string;
    try {
      expect(first.status).toBe(200);
      await until(async () => (await streamFollowers(stack.subgraphs.storage!.metricsUrl!, 'storage')) === 1, {
        what: 'the mobile subscription to be followed',
      });
      await upload(carol!.id, 'first.png');
      await until(() => first.events.length > 0, { what: 'the first file' });
      const data = first.events[0]!.data as { storedObjectCreated: Stored };
      expect(data.storedObjectCreated.file.name).toBe('first.png');
      expect(data.storedObjectCreated.owner.id).toBe(carol!.id);
      lastEventId = data.storedObjectCreated.eventId;
    } finally {
      await first.close();
    }
    // Offline meanwhile: two uploads land; the app comes back after its last event id.
    await upload(carol!.id, 'second.png');
    await upload(carol!.id, 'third.png');
    const resumed = await openEventStream(url, headers, { extensions, variables: { after: lastEventId } });
    try {
      await until(() => resumed.events.length >= 2, { what: 'the missed files' });
      const names = resumed.events.map((e) => (e.data as { storedObjectCreated: Stored }).storedObjectCreated.file.name);
      expect(names).toEqual(['second.png', 'third.png']);
    } finally {
      await resumed.close();
    }
  });

  test('each event carries its id in the SSE id field; a client that reconnects with Last-Event-ID gets what it missed, as with after', async () => {
    const [, , , dave] = stack.sandbox.seed.users;
    const url = `${stack.gateways.web!.url}/graphql`;
    const headers = await as(dave!.id);
    const first = await openEventStream(url, headers, { query: FILE_STORED });
    let lastEventId: string | undefined;
    try {
      await until(async () => (await streamFollowers(stack.subgraphs.storage!.metricsUrl!, 'storage')) === 1, {
        what: 'the subscription to be followed',
      });
      await upload(dave!.id, 'one.png');
      await until(() => first.events.length > 0, { what: 'the first file' });
      lastEventId = first.lastEventId();
      expect(lastEventId).toBe((first.events[0]!.data as { storedObjectCreated: Stored }).storedObjectCreated.eventId);
    } finally {
      await first.close();
    }
    await upload(dave!.id, 'two.png');
    // As EventSource reconnects: the same request, with the last id it saw in Last-Event-ID.
    const resumed = await openEventStream(url, { ...headers, 'last-event-id': lastEventId! }, { query: FILE_STORED });
    try {
      await until(() => resumed.events.length > 0, { what: 'the missed file' });
      expect(resumed.events.map((e) => (e.data as { storedObjectCreated: Stored }).storedObjectCreated.file.name)).toEqual(['two.png']);
    } finally {
      await resumed.close();
    }
  });
});

describe("the bucket's notifications (POST /webhooks/s3)", () => {
  const notification = (key: string, id = randomUUID(), bucket: string = providerEntry('s3').account.bucket) =>
    JSON.stringify({
      version: '0',
      id,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${bucket}`],
      detail: { version: '0', bucket: { name: bucket }, object: { key, size: 3, etag: 'abc' }, reason: 'PutObject' },
    });
  const post = (body: string, apiKey: string = providerEntry('s3').credentials.eventsApiKey) =>
    fetch(`${stack.subgraphs.storage!.url}/webhooks/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body,
    });

  test('a notification without the API key is refused 401 and tells nothing; one of another bucket, or not an S3 event, 400', async () => {
    const before = await appended();
    const forged = await post(notification('users/usr_00001/x.png'), 'not-the-key');
    expect({ status: forged.status, body: await forged.json() }).toEqual({
      status: 401,
      body: { errors: [{ message: 'Webhook credentials or signature do not verify', extensions: { code: 'UNAUTHENTICATED' } }] },
    });
    const otherBucket = await post(notification('users/usr_00001/x.png', randomUUID(), 'someone-elses-bucket'));
    expect(otherBucket.status).toBe(400);
    const notS3 = await post('{"detail-type":"Object Created","source":"aws.ec2"}');
    expect({ status: notS3.status, body: await notS3.json() }).toEqual({
      status: 400,
      body: { errors: [{ message: 'Not a s3 webhook body', extensions: { code: 'BAD_REQUEST' } }] },
    });
    expect(await appended()).toBe(before);
  });

  test('a notification delivered twice (EventBridge delivers at least once) is told once', async () => {
    const before = await appended();
    const body = notification(`users/usr_00004/${randomUUID()}.txt`);
    const first = await post(body);
    const again = await post(body);
    expect([await first.json(), await again.json()]).toEqual([
      { received: 1, applied: 1, duplicates: 0 },
      { received: 1, applied: 0, duplicates: 1 },
    ]);
    expect(await appended()).toBe(before + 1);
    // A key outside every user's folder is taken (no retry) and tells nothing.
    const outside = await post(notification('exports/report.csv'));
    expect(outside.status).toBe(200);
    expect(await appended()).toBe(before + 1);
  });
});
