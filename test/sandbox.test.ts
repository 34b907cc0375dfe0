import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import aws4 from 'aws4';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { generateSeed } from '../sandbox/seed.js';
import { sha256Hex, verifyS3Request } from '../sandbox/sigv4.js';
import { FREE_SANDBOX_PORTS } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '300' });
});
afterAll(() => sandbox?.close());

describe('SigV4 verification against AWS published examples', () => {
  const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const at = Date.UTC(2013, 4, 24, 0, 5, 0);
  const presigned = new URLSearchParams(
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  );
  const host = { host: 'examplebucket.s3.amazonaws.com' };

  test('presigned GET example verifies; one changed parameter does not', () => {
    const request = { method: 'GET', rawPath: '/test.txt', query: presigned, headers: host, bodySha256: sha256Hex('') };
    expect(verifyS3Request(request, () => creds, 'us-east-1', at)).toEqual({ ok: true, accessKeyId: creds.accessKeyId });
    const changed = new URLSearchParams(presigned);
    changed.set('X-Amz-Expires', '86401');
    expect(verifyS3Request({ ...request, query: changed }, () => creds, 'us-east-1', at)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verifyS3Request(request, () => creds, 'us-east-1', at + 86_400_000)).toMatchObject({
      ok: false,
      status: 403,
      message: 'Request has expired',
    });
  });

  test('header-signed GET with Range verifies', () => {
    const empty = sha256Hex('');
    const headers = {
      ...host,
      range: 'bytes=0-9',
      'x-amz-content-sha256': empty,
      'x-amz-date': '20130524T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    };
    const request = { method: 'GET', rawPath: '/test.txt', query: new URLSearchParams(), headers, bodySha256: empty };
    expect(verifyS3Request(request, () => creds, 'us-east-1', at)).toMatchObject({ ok: true });
    expect(verifyS3Request({ ...request, headers: { ...headers, range: 'bytes=0-10' } }, () => creds, 'us-east-1', at)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });
});

describe('storage sandbox speaks S3', () => {
  const creds = {
    accessKeyId: providerEntry('s3').account.accessKeyId,
    secretAccessKey: providerEntry('s3').credentials.secretAccessKey,
  };
  type SignOptions = { body?: string; headers?: Record<string, string>; secret?: string; keyId?: string };
  const signed = (method: string, path: string, options: SignOptions = {}) => {
    const url = new URL(sandbox.url('s3'));
    const request = aws4.sign(
      {
        host: url.host,
        path,
        method,
        service: 's3',
        region: providerEntry('s3').account.region,
        headers: { ...options.headers },
        body: options.body,
      },
      { accessKeyId: options.keyId ?? creds.accessKeyId, secretAccessKey: options.secret ?? creds.secretAccessKey },
    );
    return fetch(`${url.origin}${request.path}`, { method, headers: request.headers as Record<string, string>, body: options.body });
  };
  const bucket = `/${providerEntry('s3').account.bucket}`;

  test('an unsigned request is refused with S3 error XML', async () => {
    const response = await fetch(`${sandbox.url('s3')}${bucket}?list-type=2`);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/application\/xml/);
    const text = await response.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(response.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
  });

  test('a wrong secret is SignatureDoesNotMatch; an unknown key id is InvalidAccessKeyId', async () => {
    const wrong = await signed('GET', `${bucket}?list-type=2`, { secret: 'not-the-secret' });
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const unknown = await signed('GET', `${bucket}?list-type=2`, { keyId: 'AKIAUNKNOWN000000000' });
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toContain('<Code>InvalidAccessKeyId</Code>');
  });

  test('ListObjectsV2 pages with continuation tokens', async () => {
    const user = sandbox.seed.files[0]!.key.split('/').slice(0, 2).join('/') + '/';
    const all = sandbox.seed.files.filter((f) => f.key.startsWith(user)).map((f) => f.key);
    expect(all.length).toBeGreaterThan(2);
    const first = await (await signed('GET', `${bucket}?list-type=2&max-keys=2&prefix=${encodeURIComponent(user)}`)).text();
    expect(first).toContain('<IsTruncated>true</IsTruncated>');
    expect(first).toContain('<KeyCount>2</KeyCount>');
    const token = /<NextContinuationToken>([^<]+)</.exec(first)![1]!;
    const second = await (
      await signed(
        'GET',
        `${bucket}?list-type=2&max-keys=1000&prefix=${encodeURIComponent(user)}&continuation-token=${encodeURIComponent(token)}`,
      )
    ).text();
    const keys = [...second.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]);
    expect(keys).toEqual(all.slice(2));
    expect(second).toContain('<IsTruncated>false</IsTruncated>');
  });

  test('HEAD of a missing key is 404 without a body; GET is NoSuchKey XML', async () => {
    const head = await signed('HEAD', `${bucket}/users/nobody/missing.txt`);
    expect(head.status).toBe(404);
    expect(await head.text()).toBe('');
    const get = await signed('GET', `${bucket}/users/nobody/missing.txt`);
    expect(get.status).toBe(404);
    expect(await get.text()).toContain('<Code>NoSuchKey</Code>');
  });

  test('PUT, ranged GET, conditional create and DeleteObjects', async () => {
    const key = `${bucket}/users/test/hello.txt`;
    const put = await signed('PUT', key, { body: 'hello, world', headers: { 'Content-Type': 'text/plain' } });
    expect(put.status).toBe(200);
    const etag = put.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    const ranged = await signed('GET', key, { headers: { Range: 'bytes=0-4' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 0-4/12');
    expect(await ranged.text()).toBe('hello');

    const notModified = await signed('GET', key, { headers: { 'If-None-Match': etag! } });
    expect(notModified.status).toBe(304);

    const again = await signed('PUT', key, { body: 'x', headers: { 'If-None-Match': '*', 'Content-Type': 'text/plain' } });
    expect(again.status).toBe(412);

    const xml = '<Delete><Object><Key>users/test/hello.txt</Key></Object><Object><Key>users/test/never.txt</Key></Object></Delete>';
    const md5 = (await import('node:crypto')).createHash('md5').update(xml).digest('base64');
    const deleted = await signed('POST', `${bucket}?delete`, {
      body: xml,
      headers: { 'Content-MD5': md5, 'Content-Type': 'application/xml' },
    });
    expect(deleted.status).toBe(200);
    const result = await deleted.text();
    expect(result).toContain('<Deleted><Key>users/test/hello.txt</Key></Deleted>');
    expect(result).toContain('<Deleted><Key>users/test/never.txt</Key></Deleted>');
    expect((await signed('HEAD', key)).status).toBe(404);
  });

  test('a body that does not match x-amz-content-sha256 is refused', async () => {
    const url = new URL(sandbox.url('s3'));
    const request = aws4.sign(
      {
        host: url.host,
        path: `${bucket}/users/test/x.txt`,
        method: 'PUT',
        service: 's3',
        region: providerEntry('s3').account.region,
        body: 'original',
      },
      creds,
    );
    const response = await fetch(`${url.origin}${request.path}`, {
      method: 'PUT',
      headers: request.headers as Record<string, string>,
      body: 'tampered',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
  });
});

describe('email sandbox speaks SendGrid v3', () => {
  const send = (body: unknown, key: string = providerEntry('sendgrid').credentials.apiKey) =>
    fetch(`${sandbox.url('sendgrid')}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const valid = {
    personalizations: [{ to: [{ email: 'a@example.com' }] }],
    from: { email: 'from@example.com' },
    subject: 'Hi',
    content: [{ type: 'text/plain', value: 'Hello' }],
  };

  test('202 Accepted with an empty body, X-Message-Id and rate-limit headers', async () => {
    const response = await send(valid);
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
    expect(response.headers.get('x-message-id')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The sandbox's default: 100,000 requests a minute (sandbox/sendgrid.ts).
    expect(response.headers.get('x-ratelimit-limit')).toBe('100000');
    const reset = Number(response.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(Date.now() / 1000 - 1);
    expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 61);
  });

  test('400 lists each problem with its field', async () => {
    const response = await send({ ...valid, personalizations: [{ to: [{ email: 'not-an-address' }] }], content: [] });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ field: string; message: string }> };
    expect(body.errors.map((e) => e.field)).toEqual(['personalizations.0.to.0.email', 'content']);
  });

  test("401 with SendGrid's body for a wrong key", async () => {
    const response = await send(valid, 'SG.wrong');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ errors: [{ message: 'authorization required', field: null }] });
  });

  test('Email Activity answers SGQL to_email queries', async () => {
    const address = sandbox.seed.messages[0]!.to_email;
    const query = encodeURIComponent(`to_email="${address}"`);
    const response = await fetch(`${sandbox.url('sendgrid')}/v3/messages?query=${query}&limit=1000`, {
      headers: { authorization: `Bearer ${providerEntry('sendgrid').credentials.apiKey}` },
    });
    const body = (await response.json()) as { messages: Array<{ to_email: string }> };
    expect(body.messages.length).toBe(sandbox.seed.messages.filter((m) => m.to_email === address).length);
    const bad = await fetch(`${sandbox.url('sendgrid')}/v3/messages?query=DROP%20TABLE`, {
      headers: { authorization: `Bearer ${providerEntry('sendgrid').credentials.apiKey}` },
    });
    expect(bad.status).toBe(400);
  });
});

describe('accounts and analytics sandboxes', () => {
  test('accounts needs the bearer token and caps ids at 100', async () => {
    expect((await fetch(`${sandbox.url('accounts')}/v1/users/usr_00001`)).status).toBe(401);
    const ids = Array.from({ length: 101 }, (_, i) => `usr_${i}`).join(',');
    const response = await fetch(`${sandbox.url('accounts')}/v1/users?ids=${ids}`, {
      headers: { authorization: `Bearer ${providerEntry('accounts').credentials.token}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'too_many_ids', message: 'At most 100 ids per request.' } });
  });

  test('Segment batch ingest needs the write key and dedups on messageId', async () => {
    const post = (key: string) =>
      fetch(`${sandbox.url('segment')}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: [{ type: 'track', event: 'Dedup', userId: 'usr_00001', messageId: 'm-1' }] }),
      });
    expect((await post('wrong')).status).toBe(401);
    expect((await post(providerEntry('segment').credentials.writeKey)).status).toBe(200);
    expect((await post(providerEntry('segment').credentials.writeKey)).status).toBe(200);
    expect(sandbox.providers.segment.ingested.filter((e) => e.event === 'Dedup')).toHaveLength(1);
  });
});

describe('fault rules', () => {
  const setFaults = (body: unknown) =>
    fetch(`${sandbox.url('sendgrid')}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test.each([
    [{}, 'body must be {"rules": [...]}'],
    [{ rules: ['503'] }, 'rules[0]: Invalid input: expected object, received string'],
    [{ rules: [{ status: 503 }, { status: 700 }] }, 'rules[1].status: must be an HTTP status'],
    [{ rules: [{ rate: 0 }] }, 'rules[0].rate: must be in (0, 1]'],
    [{ rules: [{ times: 1.5 }] }, 'rules[0].times: must be a positive integer'],
  ])('%j is refused: %s', async (body, error) => {
    const response = await setFaults(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error });
  });

  test('valid rules are set, listed and cleared', async () => {
    const response = await setFaults({ rules: [{ operation: 'mailSend', status: 503, times: 2 }] });
    expect(await response.json()).toEqual({
      provider: 'sendgrid',
      rules: [expect.objectContaining({ operation: 'mailSend', status: 503 })],
    });
    expect((await fetch(`${sandbox.url('sendgrid')}/__sandbox/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await (await fetch(`${sandbox.url('sendgrid')}/__sandbox/faults`)).json()).rules).toEqual([]);
  });
});

describe('the seed', () => {
  test('is what the README says: 1,200 users, about 14,000 files, 9,000 messages and 23,000 events of the last 30 days', () => {
    const seed = generateSeed({});
    const now = Date.now() / 1000;
    const ages = seed.events.map((event) => now - event.properties.time);
    expect(seed.users).toHaveLength(1200);
    expect(Math.round(seed.files.length / 1000)).toBe(14);
    expect(Math.round(seed.messages.length / 1000)).toBe(9);
    expect(Math.round(seed.events.length / 1000)).toBe(23);
    // Spread over the whole window, not its first minutes: the oldest a month back, the newest today.
    expect(Math.max(...ages) / 86_400).toBeGreaterThan(29);
    expect(Math.max(...ages) / 86_400).toBeLessThanOrEqual(30);
    expect(Math.min(...ages)).toBeLessThan(86_400);
    const days = new Set(seed.events.map((event) => Math.floor(event.properties.time / 86_400)));
    expect(days.size).toBeGreaterThanOrEqual(30);
  });
});
