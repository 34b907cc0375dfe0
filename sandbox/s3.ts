import { createHash, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { LOCAL } from '../kit/local-defaults.js';
import { createProviderApp, defineSandboxProvider, rawBody, type ProviderApp } from './provider.js';
import type { SeedFile } from './seed.js';
import { sha256Hex, verifyS3Request, type Credentials } from './sigv4.js';

export interface S3SandboxOptions {
  bucket: string;
  region: string;
  credentials: Credentials;
  files: SeedFile[];
}

interface StoredObject {
  key: string;
  size: number;
  contentType: string;
  lastModified: Date;
  etag: string;
  /** Absent for seeded objects, whose bytes are generated from the key on read. */
  body?: Buffer;
  metadata: Record<string, string>;
}

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });
const parser = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'Object' });

function xml(root: string, body: Record<string, unknown>, namespaced = true): string {
  const content = builder.build({ [root]: namespaced ? { '@_xmlns': NS, ...body } : body });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${content}`;
}

/** Bytes of a seeded object: deterministic, so a download is the same every time. */
function seededBytes(key: string, size: number): Buffer {
  const block = createHash('sha256').update(key).digest();
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += block.length) block.copy(out, i, 0, Math.min(block.length, size - i));
  return out;
}

/** Lower bound in a sorted array of keys. */
function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * S3-compatible object storage, path-style (`/{bucket}/{key}`): ListObjectsV2, HeadObject,
 * GetObject (ranges, conditional), PutObject (conditional create), DeleteObject(s).
 * Every request must carry a valid SigV4 signature, in headers or as a presigned URL;
 * failures come back as S3's XML errors (HEAD errors without a body, as S3 does).
 */
export function createS3Sandbox(options: S3SandboxOptions): ProviderApp & { objects: Map<string, StoredObject> } {
  const S3_FAULTS: Record<number, [string, string]> = {
    500: ['InternalError', 'We encountered an internal error. Please try again.'],
    503: ['SlowDown', 'Please reduce your request rate.'],
    403: ['AccessDenied', 'Access Denied'],
    404: ['NoSuchKey', 'The specified key does not exist.'],
  };
  const provider = createProviderApp('s3', {
    errorBody: (status) => {
      const [code, message] = S3_FAULTS[status] ?? ['ServiceUnavailable', 'Service is unable to handle request.'];
      return { contentType: 'application/xml', body: xml('Error', { Code: code, Message: message }, false) };
    },
  });
  const objects = new Map<string, StoredObject>();
  const keys: string[] = [];
  for (const file of options.files) {
    objects.set(file.key, {
      key: file.key,
      size: file.size,
      contentType: file.contentType,
      lastModified: file.lastModified,
      etag: `"${createHash('md5').update(`${file.key}:${file.size}`).digest('hex')}-1"`,
      metadata: {},
    });
  }
  keys.push(...[...objects.keys()].sort());

  function put(object: StoredObject) {
    if (!objects.has(object.key)) keys.splice(lowerBound(keys, object.key), 0, object.key);
    objects.set(object.key, object);
  }
  function remove(key: string) {
    if (!objects.delete(key)) return;
    keys.splice(lowerBound(keys, key), 1);
  }

  function sendError(req: Request, res: Response, status: number, code: string, message: string, resource?: string) {
    res.status(status);
    if (req.method === 'HEAD') return res.end();
    res
      .type('application/xml')
      .send(
        xml(
          'Error',
          { Code: code, Message: message, ...(resource ? { Resource: resource } : {}), RequestId: res.getHeader('x-amz-request-id') },
          false,
        ),
      );
  }

  provider.app.use(rawBody('5gb'), (req, res, next) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    if (req.path.startsWith('/__sandbox')) return next();
    const url = new URL(req.originalUrl, 'http://sandbox');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyS3Request(
      { method: req.method, rawPath: url.pathname, query: url.searchParams, headers: req.headers, bodySha256: sha256Hex(body) },
      (id) => (id === options.credentials.accessKeyId ? options.credentials : undefined),
      options.region,
    );
    if (!verdict.ok) return sendError(req, res, verdict.status, verdict.code, verdict.message, url.pathname);
    res.locals.body = body;
    res.locals.url = url;
    next();
  });

  const handle =
    (operation: string, fn: (req: Request, res: Response, bucket: string, key: string) => unknown) =>
    async (req: Request, res: Response, bucket: string, key: string) => {
      if (await provider.enter(operation, req, res)) return;
      return fn(req, res, bucket, key);
    };

  const listObjectsV2 = handle('ListObjectsV2', (req, res, bucket) => {
    const q = (res.locals.url as URL).searchParams;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysRaw = q.get('max-keys');
    const maxKeys = maxKeysRaw === null ? 1000 : Number(maxKeysRaw);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      return sendError(req, res, 400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const limit = Math.min(maxKeys, 1000);
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? '';
    if (token !== null) {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      if (!decoded.startsWith('k:')) return sendError(req, res, 400, 'InvalidArgument', 'The continuation token provided is incorrect');
      after = decoded.slice(2);
    }
    const urlEncode = q.get('encoding-type') === 'url';
    const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

    const contents: Array<Record<string, unknown>> = [];
    const commonPrefixes: string[] = [];
    let index = lowerBound(keys, prefix > after ? prefix : after);
    if (keys[index] === after) index++;
    let truncated = false;
    let lastReturned = '';
    while (index < keys.length) {
      const key = keys[index]!;
      if (!key.startsWith(prefix)) break;
      if (contents.length + commonPrefixes.length >= limit) {
        truncated = true;
        break;
      }
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        commonPrefixes.push(common);
        lastReturned = common;
        index = lowerBound(keys, common + '\u{10FFFF}');
        continue;
      }
      const o = objects.get(key)!;
      contents.push({ Key: enc(key), LastModified: o.lastModified.toISOString(), ETag: o.etag, Size: o.size, StorageClass: 'STANDARD' });
      lastReturned = key;
      index++;
    }
    res.type('application/xml').send(
      xml('ListBucketResult', {
        Name: bucket,
        Prefix: enc(prefix),
        KeyCount: contents.length + commonPrefixes.length,
        MaxKeys: limit,
        ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
        IsTruncated: truncated,
        ...(token !== null ? { ContinuationToken: token } : {}),
        ...(truncated ? { NextContinuationToken: Buffer.from(`k:${lastReturned}`).toString('base64') } : {}),
        ...(q.has('start-after') ? { StartAfter: enc(q.get('start-after')!) } : {}),
        ...(urlEncode ? { EncodingType: 'url' } : {}),
        Contents: contents,
        CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: enc(p) })),
      }),
    );
  });

  function objectHeaders(res: Response, o: StoredObject) {
    res.setHeader('ETag', o.etag);
    res.setHeader('Last-Modified', o.lastModified.toUTCString());
    res.setHeader('Content-Type', o.contentType);
    res.setHeader('Accept-Ranges', 'bytes');
    for (const [k, v] of Object.entries(o.metadata)) res.setHeader(`x-amz-meta-${k}`, v);
  }

  /** Conditional request headers; returns true when a response was sent. */
  function preconditions(req: Request, res: Response, o: StoredObject): boolean {
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== '*' && ifMatch !== o.etag) {
      sendError(req, res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return true;
    }
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && (ifNoneMatch === '*' || ifNoneMatch === o.etag)) {
      objectHeaders(res, o);
      res.status(304).end();
      return true;
    }
    return false;
  }

  const readObject = (operation: 'GetObject' | 'HeadObject') =>
    handle(operation, (req, res, _bucket, key) => {
      const o = objects.get(key);
      if (!o) {
        return operation === 'HeadObject'
          ? sendError(req, res, 404, 'NotFound', 'Not Found')
          : sendError(req, res, 404, 'NoSuchKey', 'The specified key does not exist.', key);
      }
      if (preconditions(req, res, o)) return;
      objectHeaders(res, o);
      const q = (res.locals.url as URL).searchParams;
      const override = q.get('response-content-type');
      if (override) res.setHeader('Content-Type', override);
      const disposition = q.get('response-content-disposition');
      if (disposition) res.setHeader('Content-Disposition', disposition);
      let start = 0;
      let end = o.size - 1;
      const range = req.headers.range;
      if (range) {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range);
        if (m && (m[1] || m[2])) {
          if (m[1]) {
            start = Number(m[1]);
            end = m[2] ? Math.min(Number(m[2]), o.size - 1) : o.size - 1;
          } else {
            start = Math.max(0, o.size - Number(m[2]));
          }
          if (start >= o.size || start > end) {
            res.setHeader('Content-Range', `bytes */${o.size}`);
            return sendError(req, res, 416, 'InvalidRange', 'The requested range is not satisfiable');
          }
          res.status(206).setHeader('Content-Range', `bytes ${start}-${end}/${o.size}`);
        }
      }
      res.setHeader('Content-Length', String(end - start + 1));
      if (operation === 'HeadObject') return res.end();
      const bytes = o.body ?? seededBytes(o.key, o.size);
      res.end(bytes.subarray(start, end + 1));
    });

  const getObject = readObject('GetObject');
  const headObject = readObject('HeadObject');

  const putObject = handle('PutObject', (req, res, _bucket, key) => {
    const body = res.locals.body as Buffer;
    const md5 = req.headers['content-md5'];
    const digest = createHash('md5').update(body).digest();
    if (typeof md5 === 'string' && md5 !== digest.toString('base64')) {
      return sendError(req, res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const existing = objects.get(key);
    if (existing && req.headers['if-none-match'] === '*') {
      return sendError(req, res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }
    if (req.headers['if-match'] && (!existing || req.headers['if-match'] !== existing.etag)) {
      return sendError(
        req,
        res,
        existing ? 412 : 404,
        existing ? 'PreconditionFailed' : 'NoSuchKey',
        'At least one of the pre-conditions you specified did not hold',
      );
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
    }
    const etag = `"${digest.toString('hex')}"`;
    put({
      key,
      size: body.length,
      contentType: req.headers['content-type'] ?? 'binary/octet-stream',
      lastModified: new Date(),
      etag,
      body,
      metadata,
    });
    res.setHeader('ETag', etag);
    res.status(200).end();
  });

  const deleteObject = handle('DeleteObject', (_req, res, _bucket, key) => {
    remove(key);
    res.status(204).end();
  });

  const deleteObjects = handle('DeleteObjects', (req, res) => {
    const body = res.locals.body as Buffer;
    const hasChecksum = req.headers['content-md5'] || Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-'));
    if (!hasChecksum)
      return sendError(req, res, 400, 'InvalidRequest', 'Missing required header for this request: Content-MD5 OR x-amz-checksum-*');
    const md5 = req.headers['content-md5'];
    if (typeof md5 === 'string' && md5 !== createHash('md5').update(body).digest('base64')) {
      return sendError(req, res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const malformedXml = () =>
      sendError(req, res, 400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    let parsed: { Delete?: { Object?: Array<{ Key?: unknown }>; Quiet?: unknown } };
    try {
      parsed = parser.parse(body.toString('utf8'));
    } catch {
      return malformedXml();
    }
    const list = parsed.Delete?.Object ?? [];
    if (
      !parsed.Delete ||
      list.length === 0 ||
      list.length > 1000 ||
      list.some((o) => typeof o.Key !== 'string' && typeof o.Key !== 'number')
    ) {
      return malformedXml();
    }
    const quiet = String(parsed.Delete.Quiet) === 'true';
    const deleted = list.map((o) => {
      const key = String(o.Key);
      remove(key);
      return { Key: key };
    });
    res.type('application/xml').send(xml('DeleteResult', quiet ? {} : { Deleted: deleted }));
  });

  provider.app.use((req, res, next) => {
    void route(req, res).catch(next);
  });

  async function route(req: Request, res: Response) {
    const url = res.locals.url as URL;
    const [, bucketRaw = '', ...rest] = url.pathname.split('/');
    const bucket = decodeURIComponent(bucketRaw);
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    if (!bucket) return sendError(req, res, 501, 'NotImplemented', 'ListBuckets is not implemented by this sandbox');
    if (bucket !== options.bucket) return sendError(req, res, 404, 'NoSuchBucket', 'The specified bucket does not exist', `/${bucket}`);
    const q = url.searchParams;
    if (!key) {
      if (req.method === 'GET' && q.get('list-type') === '2') return listObjectsV2(req, res, bucket, key);
      if (req.method === 'HEAD') return handle('HeadBucket', () => res.status(200).end())(req, res, bucket, key);
      if (req.method === 'POST' && q.has('delete')) return deleteObjects(req, res, bucket, key);
      return sendError(req, res, 501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented');
    }
    switch (req.method) {
      case 'GET':
        return getObject(req, res, bucket, key);
      case 'HEAD':
        return headObject(req, res, bucket, key);
      case 'PUT':
        return putObject(req, res, bucket, key);
      case 'DELETE':
        return deleteObject(req, res, bucket, key);
      default:
        return sendError(req, res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  }

  return Object.assign(provider, { objects });
}

export const sandboxProvider = defineSandboxProvider({
  name: 's3',
  create: (seed) =>
    createS3Sandbox({
      bucket: LOCAL.s3.bucket,
      region: LOCAL.s3.region,
      credentials: { accessKeyId: LOCAL.s3.accessKeyId, secretAccessKey: LOCAL.s3.secretAccessKey },
      files: seed.files,
    }),
  env: (url) => ({ S3_ENDPOINT: url }),
});
