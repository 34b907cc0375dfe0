import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { createProviderApp, defineSandboxProvider, rawBody, webhookSender, type ProviderApp } from './provider.js';
import { Bucket, type StoredObject } from './s3-bucket.js';
import type { SeedFile } from './seed.js';
import { sha256Hex, verifyS3Request, type Credentials } from './sigv4.js';

export interface S3SandboxOptions {
  bucket: string;
  region: string;
  credentials: Credentials;
  /** The API key its event notifications carry, as an EventBridge API destination's connection sends it. */
  eventsApiKey: string;
  files: SeedFile[];
}

/** A request that passed the signature check: its URL, its bytes, and the bucket and key it names. */
interface S3Call {
  req: Request;
  res: Response;
  url: URL;
  body: Buffer;
  bucket: string;
  key: string;
}

/** The AWS account the sandbox's bucket is in, as notifications name it. */
const SANDBOX_ACCOUNT = '000000000000';
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });
const parser = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'Object' });

function xml(root: string, body: Record<string, unknown>, namespaced = true): string {
  const content = builder.build({ [root]: namespaced ? { '@_xmlns': NS, ...body } : body });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${content}`;
}

/** What a fault rule's status answers with, in S3's words. */
const S3_FAULTS: Record<number, [string, string]> = {
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
  403: ['AccessDenied', 'Access Denied'],
  404: ['NoSuchKey', 'The specified key does not exist.'],
};

const PRECONDITION_FAILED = 'At least one of the pre-conditions you specified did not hold';

/** S3's XML error; HEAD errors without a body, as S3 does. */
function sendError({ req, res }: Pick<S3Call, 'req' | 'res'>, status: number, code: string, message: string, resource?: string) {
  res.status(status);
  if (req.method === 'HEAD') return res.end();
  const fields = {
    Code: code,
    Message: message,
    ...(resource ? { Resource: resource } : {}),
    RequestId: res.getHeader('x-amz-request-id'),
  };
  res.type('application/xml').send(xml('Error', fields, false));
}

function objectHeaders(res: Response, o: StoredObject) {
  res.setHeader('ETag', o.etag);
  res.setHeader('Last-Modified', o.lastModified.toUTCString());
  res.setHeader('Content-Type', o.contentType);
  res.setHeader('Accept-Ranges', 'bytes');
  for (const [k, v] of Object.entries(o.metadata)) res.setHeader(`x-amz-meta-${k}`, v);
}

/** Conditional request headers; true when they answered the request. */
function answeredByPreconditions(call: S3Call, o: StoredObject): boolean {
  const ifMatch = call.req.headers['if-match'];
  if (ifMatch && ifMatch !== '*' && ifMatch !== o.etag) {
    sendError(call, 412, 'PreconditionFailed', PRECONDITION_FAILED);
    return true;
  }
  const ifNoneMatch = call.req.headers['if-none-match'];
  if (ifNoneMatch && (ifNoneMatch === '*' || ifNoneMatch === o.etag)) {
    objectHeaders(call.res, o);
    call.res.status(304).end();
    return true;
  }
  return false;
}

/** The bytes a Range header asks of an object of `size` bytes: all, a part, or not satisfiable. */
function byteRange(header: string | undefined, size: number): { start: number; end: number; partial: boolean } | 'unsatisfiable' {
  const whole = { start: 0, end: size - 1, partial: false };
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header) : null;
  if (!m || !(m[1] || m[2])) return whole;
  const start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
  const end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  return start >= size || start > end ? 'unsatisfiable' : { start, end, partial: true };
}

/** Checks the body's Content-MD5 when sent; true when it did not match (and was answered). */
function answeredByBadDigest(call: S3Call, digest: Buffer): boolean {
  const md5 = call.req.headers['content-md5'];
  if (typeof md5 !== 'string' || md5 === digest.toString('base64')) return false;
  sendError(call, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  return true;
}

/**
 * S3-compatible object storage, path-style (`/{bucket}/{key}`): ListObjectsV2, HeadObject,
 * GetObject (ranges, conditional), PutObject (conditional create), DeleteObject(s).
 * Every request must carry a valid SigV4 signature, in headers or as a presigned URL;
 * failures come back as S3's XML errors.
 */
export function createS3Sandbox(
  options: S3SandboxOptions,
): ProviderApp & { bucket: Bucket; store: (object: { key: string; body: Buffer; contentType: string }) => string } {
  const provider = createProviderApp('s3', {
    errorBody: (status) => {
      const [code, message] = S3_FAULTS[status] ?? ['ServiceUnavailable', 'Service is unable to handle request.'];
      return { contentType: 'application/xml', body: xml('Error', { Code: code, Message: message }, false) };
    },
  });
  const bucket = new Bucket(options.bucket, options.files);
  // As S3 tells EventBridge of object changes and a rule's API destination posts each on.
  const notifications = webhookSender(() => ({ 'x-api-key': options.eventsApiKey }));
  const notify = (change: 'Object Created' | 'Object Deleted', object: { key: string; size?: number; etag?: string }, reason: string) =>
    notifications.post({
      version: '0',
      id: randomUUID(),
      'detail-type': change,
      source: 'aws.s3',
      account: SANDBOX_ACCOUNT,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: options.region,
      resources: [`arn:aws:s3:::${options.bucket}`],
      detail: {
        version: '0',
        bucket: { name: options.bucket },
        object: {
          ...object,
          ...(object.etag ? { etag: object.etag.replace(/"/g, '') } : {}),
          sequencer: (++sequence).toString(16).padStart(18, '0').toUpperCase(),
        },
        'request-id': randomBytes(8).toString('hex').toUpperCase(),
        requester: SANDBOX_ACCOUNT,
        reason,
        ...(change === 'Object Deleted' ? { 'deletion-type': 'Permanently Deleted' } : {}),
      },
    });
  let sequence = 0;
  /** Stores an object and tells its notification, as a PutObject does; its ETag. */
  function store({
    key,
    body,
    contentType,
    metadata = {},
  }: {
    key: string;
    body: Buffer;
    contentType: string;
    metadata?: Record<string, string>;
  }) {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    bucket.put({ key, size: body.length, contentType, lastModified: new Date(), etag, body, metadata });
    notify('Object Created', { key, size: body.length, etag }, 'PutObject');
    return etag;
  }

  const operation =
    (name: string, handler: (call: S3Call) => unknown) =>
    async (call: S3Call): Promise<unknown> =>
      (await provider.enter(name, call.req, call.res)) ? undefined : handler(call);

  const listObjectsV2 = operation('ListObjectsV2', (call) => {
    const q = call.url.searchParams;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysRaw = q.get('max-keys');
    const maxKeys = maxKeysRaw === null ? 1000 : Number(maxKeysRaw);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      return sendError(call, 400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const limit = Math.min(maxKeys, 1000);
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? '';
    if (token !== null) {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      if (!decoded.startsWith('k:')) return sendError(call, 400, 'InvalidArgument', 'The continuation token provided is incorrect');
      after = decoded.slice(2);
    }
    const urlEncode = q.get('encoding-type') === 'url';
    const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
    const page = bucket.list({ prefix, delimiter, after, limit });
    call.res.type('application/xml').send(
      xml('ListBucketResult', {
        Name: bucket.name,
        Prefix: enc(prefix),
        KeyCount: page.objects.length + page.commonPrefixes.length,
        MaxKeys: limit,
        ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
        IsTruncated: page.truncated,
        ...(token !== null ? { ContinuationToken: token } : {}),
        ...(page.truncated ? { NextContinuationToken: Buffer.from(`k:${page.last}`).toString('base64') } : {}),
        ...(q.has('start-after') ? { StartAfter: enc(q.get('start-after')!) } : {}),
        ...(urlEncode ? { EncodingType: 'url' } : {}),
        Contents: page.objects.map((o) => ({
          Key: enc(o.key),
          LastModified: o.lastModified.toISOString(),
          ETag: o.etag,
          Size: o.size,
          StorageClass: 'STANDARD',
        })),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      }),
    );
  });

  const readObject = (name: 'GetObject' | 'HeadObject') =>
    operation(name, (call) => {
      const { req, res, url, key } = call;
      const o = bucket.get(key);
      if (!o) {
        return name === 'HeadObject'
          ? sendError(call, 404, 'NotFound', 'Not Found')
          : sendError(call, 404, 'NoSuchKey', 'The specified key does not exist.', key);
      }
      if (answeredByPreconditions(call, o)) return;
      objectHeaders(res, o);
      const override = url.searchParams.get('response-content-type');
      if (override) res.setHeader('Content-Type', override);
      const disposition = url.searchParams.get('response-content-disposition');
      if (disposition) res.setHeader('Content-Disposition', disposition);
      const range = byteRange(req.headers.range, o.size);
      if (range === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${o.size}`);
        return sendError(call, 416, 'InvalidRange', 'The requested range is not satisfiable');
      }
      if (range.partial) res.status(206).setHeader('Content-Range', `bytes ${range.start}-${range.end}/${o.size}`);
      res.setHeader('Content-Length', String(range.end - range.start + 1));
      if (name === 'HeadObject') return res.end();
      res.end(bucket.bytesOf(o).subarray(range.start, range.end + 1));
    });

  const putObject = operation('PutObject', (call) => {
    const { req, res, body, key } = call;
    const digest = createHash('md5').update(body).digest();
    if (answeredByBadDigest(call, digest)) return;
    const existing = bucket.get(key);
    if (existing && req.headers['if-none-match'] === '*') return sendError(call, 412, 'PreconditionFailed', PRECONDITION_FAILED);
    if (req.headers['if-match'] && (!existing || req.headers['if-match'] !== existing.etag)) {
      return sendError(call, existing ? 412 : 404, existing ? 'PreconditionFailed' : 'NoSuchKey', PRECONDITION_FAILED);
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
    }
    const etag = store({ key, body, contentType: req.headers['content-type'] ?? 'binary/octet-stream', metadata });
    res.setHeader('ETag', etag);
    res.status(200).end();
  });

  const deleteObject = operation('DeleteObject', ({ res, key }) => {
    const existed = bucket.get(key);
    bucket.remove(key);
    res.status(204).end();
    if (existed) notify('Object Deleted', { key }, 'DeleteObject');
  });

  const deleteObjects = operation('DeleteObjects', (call) => {
    const { req, res, body } = call;
    const hasChecksum = req.headers['content-md5'] || Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-'));
    if (!hasChecksum)
      return sendError(call, 400, 'InvalidRequest', 'Missing required header for this request: Content-MD5 OR x-amz-checksum-*');
    if (answeredByBadDigest(call, createHash('md5').update(body).digest())) return;
    const malformedXml = () =>
      sendError(call, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    let parsed: { Delete?: { Object?: Array<{ Key?: unknown }>; Quiet?: unknown } };
    try {
      parsed = parser.parse(body.toString('utf8'));
    } catch {
      return malformedXml();
    }
    const list = parsed.Delete?.Object ?? [];
    const badKey = list.some((o) => typeof o.Key !== 'string' && typeof o.Key !== 'number');
    if (!parsed.Delete || list.length === 0 || list.length > 1000 || badKey) return malformedXml();
    const quiet = String(parsed.Delete.Quiet) === 'true';
    const deleted = list.map((o) => {
      const key = String(o.Key);
      if (bucket.get(key)) notify('Object Deleted', { key }, 'DeleteObjects');
      bucket.remove(key);
      return { Key: key };
    });
    res.type('application/xml').send(xml('DeleteResult', quiet ? {} : { Deleted: deleted }));
  });

  const headBucket = operation('HeadBucket', ({ res }) => res.status(200).end());

  const byMethod: Record<string, ((call: S3Call) => Promise<unknown>) | undefined> = {
    GET: readObject('GetObject'),
    HEAD: readObject('HeadObject'),
    PUT: putObject,
    DELETE: deleteObject,
  };

  function route(call: S3Call) {
    const { req, url, key } = call;
    if (!call.bucket) return sendError(call, 501, 'NotImplemented', 'ListBuckets is not implemented by this sandbox');
    if (call.bucket !== bucket.name) return sendError(call, 404, 'NoSuchBucket', 'The specified bucket does not exist', `/${call.bucket}`);
    const q = url.searchParams;
    if (!key) {
      if (req.method === 'GET' && q.get('list-type') === '2') return listObjectsV2(call);
      if (req.method === 'HEAD') return headBucket(call);
      if (req.method === 'POST' && q.has('delete')) return deleteObjects(call);
      return sendError(call, 501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented');
    }
    const handler = byMethod[req.method];
    return handler ? handler(call) : sendError(call, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  provider.app.use(rawBody('5gb'), (req, res, next) => {
    res.setHeader('x-amz-request-id', randomBytes(8).toString('hex').toUpperCase());
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    if (req.path.startsWith('/__sandbox')) return next();
    const url = new URL(req.originalUrl, 'http://sandbox');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyS3Request(
      { method: req.method, rawPath: url.pathname, query: url.searchParams, headers: req.headers, bodySha256: sha256Hex(body) },
      (id) => (id === options.credentials.accessKeyId ? options.credentials : undefined),
      options.region,
    );
    if (!verdict.ok) return sendError({ req, res }, verdict.status, verdict.code, verdict.message, url.pathname);
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    Promise.resolve(route({ req, res, url, body, bucket: decodeURIComponent(bucketName), key })).catch(next);
  });

  return Object.assign(provider, { bucket, store, deliverWebhooksTo: notifications.deliverTo });
}

export const sandboxProvider = defineSandboxProvider({
  name: 's3',
  create: (seed, credentials) =>
    createS3Sandbox({
      bucket: credentials.S3_BUCKET,
      region: credentials.S3_REGION,
      credentials: { accessKeyId: credentials.S3_ACCESS_KEY_ID, secretAccessKey: credentials.S3_SECRET_ACCESS_KEY },
      eventsApiKey: credentials.S3_EVENTS_API_KEY,
      files: seed.files,
    }),
  env: (url) => ({ S3_ENDPOINT: url }),
  webhookPath: '/webhooks/s3',
});
