/**
 * S3 from both sides with independent implementations: the storage sandbox driven by the AWS
 * SDK (@aws-sdk/client-s3) as a real S3 client, and our storage source against s3rver, a
 * third-party S3 server, as a second S3 implementation.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { verifyS3Request } from '../sandbox/sigv4.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { createS3Api } from '../subgraphs/storage/s3.js';
import { FREE_SANDBOX_PORTS, testResources } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

const credentials = {
  accessKeyId: providerEntry('s3').account.accessKeyId,
  secretAccessKey: providerEntry('s3').credentials.secretAccessKey,
};
const resources = testResources;

describe('the storage sandbox, driven by the AWS SDK', () => {
  let sandbox: Sandbox;
  let s3: S3Client;
  const Bucket = providerEntry('s3').account.bucket;
  beforeAll(async () => {
    sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '20' });
    // Checksums only where S3 requires them: the SDK's default streams CRC32 trailers
    // (aws-chunked), which the sandbox does not speak.
    s3 = new S3Client({
      endpoint: sandbox.url('s3'),
      region: providerEntry('s3').account.region,
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    s3?.destroy();
    await sandbox?.close();
  });

  test('list, head, get, put, delete and a presigned URL, every request SigV4-verified', async () => {
    const seeded = sandbox.seed.files.filter((f) => f.key.startsWith('users/usr_00001/'));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'users/usr_00001/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(seeded.map((f) => f.key).sort());

    const key = seeded[0]!.key;
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: key }));
    expect(head.ContentLength).toBe(seeded[0]!.size);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: key, Range: 'bytes=0-9' }));
    expect((await got.Body!.transformToByteArray()).length).toBe(Math.min(10, seeded[0]!.size));

    await s3.send(new PutObjectCommand({ Bucket, Key: 'users/usr_00001/sdk.txt', Body: 'from the AWS SDK', ContentType: 'text/plain' }));
    const back = await s3.send(new GetObjectCommand({ Bucket, Key: 'users/usr_00001/sdk.txt' }));
    expect(await back.Body!.transformToString()).toBe('from the AWS SDK');
    expect(back.ContentType).toBe('text/plain');

    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'users/usr_00001/sdk.txt' }), { expiresIn: 60 });
    expect(await (await fetch(url)).text()).toBe('from the AWS SDK');

    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'users/usr_00001/sdk.txt' }));
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'users/usr_00001/sdk.txt' }))).rejects.toMatchObject({ name: 'NotFound' });

    const wrongKey = new S3Client({
      endpoint: sandbox.url('s3'),
      region: providerEntry('s3').account.region,
      forcePathStyle: true,
      credentials: { ...credentials, secretAccessKey: 'wrong' },
    });
    await expect(wrongKey.send(new ListObjectsV2Command({ Bucket }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    wrongKey.destroy();
  });
});

describe('the storage source against s3rver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-s3rver-'));
  let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
  let endpoint: string;
  beforeAll(async () => {
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'patchbay-files' }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
    const sdk = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    for (const [name, body, type] of [
      ['a.txt', 'alpha', 'text/plain'],
      ['b.png', 'png-bytes', 'image/png'],
      ['c.pdf', 'pdf!', 'application/pdf'],
    ]) {
      await sdk.send(new PutObjectCommand({ Bucket: 'patchbay-files', Key: `users/usr_00042/${name}`, Body: body, ContentType: type }));
    }
    sdk.destroy();
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lists with pages and start-after, heads for content types, presigns downloads', async () => {
    const api = createS3Api(
      StorageConfig.parse({ S3_ENDPOINT: endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }),
      resources(),
    );
    // (s3rver 3.7.1 cannot make continuation tokens under OpenSSL 3: its truncated listings
    // answer 500 on Node 20+, so pages are asked for with start-after, as our cursors do.)
    const first = await api.listObjects({ prefix: 'users/usr_00042/', maxKeys: 10 });
    expect(first.objects.map((o) => o.key)).toEqual(['users/usr_00042/a.txt', 'users/usr_00042/b.png', 'users/usr_00042/c.pdf']);
    expect(first.isTruncated).toBe(false);
    const rest = await api.listObjects({ prefix: 'users/usr_00042/', maxKeys: 2, startAfter: 'users/usr_00042/b.png' });
    expect(rest.objects.map((o) => [o.key, o.size])).toEqual([['users/usr_00042/c.pdf', 4]]);
    expect(await api.objectMetadata(first.objects[1]!)).toEqual({ contentType: 'image/png', size: 9 });
    expect(await api.headObject('users/usr_00042/missing')).toBeNull();
    const { url } = api.presignGet('users/usr_00042/a.txt');
    expect(await (await fetch(url)).text()).toBe('alpha');
  });
});

describe('virtual-host style addressing (S3_FORCE_PATH_STYLE=false)', () => {
  test('puts the bucket in the host, and signs what it sends there', () => {
    const api = createS3Api(
      StorageConfig.parse({
        S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
        S3_REGION: 'eu-west-1',
        S3_FORCE_PATH_STYLE: 'false',
        S3_ACCESS_KEY_ID: credentials.accessKeyId,
        S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      }),
      resources(),
    );
    const url = new URL(api.presignGet('users/usr_00001/report 1.pdf').url);
    expect(url.host).toBe('patchbay-files.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/users/usr_00001/report%201.pdf');
    expect(api.source.baseUrl).toBe('https://patchbay-files.s3.eu-west-1.amazonaws.com');
    const verdict = verifyS3Request(
      {
        method: 'GET',
        rawPath: url.pathname,
        query: url.searchParams,
        headers: { host: url.host },
        bodySha256: createHash('sha256').update('').digest('hex'),
      },
      (id) => (id === credentials.accessKeyId ? credentials : undefined),
      'eu-west-1',
    );
    expect(verdict).toMatchObject({ ok: true });
  });
});
