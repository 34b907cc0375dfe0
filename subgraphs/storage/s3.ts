import aws4 from 'aws4';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import { UpstreamError, UpstreamErrorCode } from '../../kit/errors.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { StorageConfig } from './config.js';
import { providerEntry } from '../registry.js';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: string;
  etag: string;
}

export interface ObjectPage {
  objects: StoredObject[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export interface ObjectMetadata {
  contentType: string | null;
  size: number;
}

/** ListObjectsV2's largest page. */
export const LIST_MAX_KEYS = 1000;
/** How long an object version's metadata is kept: it never changes, so this only bounds what is kept for versions gone. */
const METADATA_TTL_MS = 3_600_000;

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => name === 'Contents' });
const ListResult = z.object({
  ListBucketResult: z.object({
    IsTruncated: z.enum(['true', 'false']),
    NextContinuationToken: z.string().optional(),
    Contents: z.array(z.object({ Key: z.string(), Size: z.string(), LastModified: z.string(), ETag: z.string() })).default([]),
  }),
});

function parseXml(text: string): unknown {
  try {
    return xml.parse(text);
  } catch {
    return undefined;
  }
}

/** Keys go in the path with each segment percent-encoded once, as S3 expects. */
const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** S3-compatible object storage client: SigV4-signed by the aws4 package, path-style. */
export function createS3Api(config: StorageConfig, resources: SubgraphResources) {
  const credentials = { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY };
  // Virtual-host style names the bucket in the host; path-style in the first path segment.
  const inHost = (endpoint: string) => {
    const url = new URL(endpoint);
    if (!config.S3_FORCE_PATH_STYLE) url.hostname = `${config.S3_BUCKET}.${url.hostname}`;
    return url;
  };
  const endpoint = inHost(config.S3_ENDPOINT);
  const publicEndpoint = inHost(config.S3_PUBLIC_ENDPOINT || config.S3_ENDPOINT);
  const bucketPath = config.S3_FORCE_PATH_STYLE ? `/${encodeURIComponent(config.S3_BUCKET)}` : '';

  const source = resources.source({
    name: providerEntry('s3').source,
    baseUrl: endpoint.href,
    timeoutMs: 2000,
    deadlineMs: 5000,
    // S3 throttles with 503 SlowDown; every call made here is safe to repeat.
    retry: { attempts: 3, on: [500, 502, 503, 504], maxRetryAfterMs: 2000 },
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 64, maxQueued: 256 },
    // S3 documents at least 5,500 GET/HEAD a second per prefix; stay under it bucket-wide.
    rateLimit: { perSecond: 5500, burst: 500 },
    // A listing or a HEAD that runs past the recent p95 is asked again beside it (at most 5 % more calls).
    hedge: { afterPercentile: 95, maxExtraShare: 0.05 },
    sign: ({ method, url, headers, body }) => {
      const signed = aws4.sign(
        { host: url.host, path: url.pathname + url.search, method, service: 's3', region: config.S3_REGION, headers: { ...headers }, body },
        credentials,
      );
      return signed.headers as Record<string, string>;
    },
  });

  /** A presigned URL: `headers` must be sent exactly as given (they are signed), `query` is signed in (S3's response overrides). */
  function presign(
    method: 'GET' | 'PUT',
    key: string,
    headers: Record<string, string> = {},
    query: Record<string, string> = {},
  ): { url: string; expiresAt: Date } {
    const ttl = config.S3_PRESIGN_TTL_SECONDS;
    const extra = Object.entries(query)
      .map(([name, value]) => `&${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      .join('');
    const signed = aws4.sign(
      {
        host: publicEndpoint.host,
        path: `${publicEndpoint.pathname.replace(/\/$/, '')}${bucketPath}/${encodeKey(key)}?X-Amz-Expires=${ttl}${extra}`,
        method,
        service: 's3',
        region: config.S3_REGION,
        signQuery: true,
        headers,
      },
      credentials,
    );
    return { url: `${publicEndpoint.protocol}//${publicEndpoint.host}${signed.path}`, expiresAt: new Date(Date.now() + ttl * 1000) };
  }

  async function headObject(key: string): Promise<ObjectMetadata | null> {
    const response = await source.request({
      operation: 'headObject',
      method: 'HEAD',
      path: `${bucketPath}/${encodeKey(key)}`,
      expect: [404],
    });
    if (response.status === 404) return null;
    return { contentType: response.headers['content-type'] ?? null, size: Number(response.headers['content-length'] ?? 0) };
  }

  // An object version's metadata never changes: a new upload or a metadata-replacing copy
  // gives it a new ETag or LastModified, which the listing in hand reports. So a HEAD is
  // needed once per version (for every replica), and the listing is what proves the kept one current.
  const metadataByVersion = resources.entityCache<ObjectMetadata | undefined>('storage.metadata', { ttlMs: METADATA_TTL_MS });

  return {
    source,
    async listObjects(options: { prefix: string; maxKeys: number; startAfter?: string; continuationToken?: string }): Promise<ObjectPage> {
      const response = await source.request({
        operation: 'listObjects',
        path: bucketPath || '/',
        query: {
          'list-type': 2,
          prefix: options.prefix,
          'max-keys': options.maxKeys,
          'start-after': options.startAfter,
          'continuation-token': options.continuationToken,
        },
      });
      const result = ListResult.safeParse(parseXml(response.text()));
      if (!result.success) {
        throw new UpstreamError(source.name, UpstreamErrorCode.BAD_RESPONSE, { status: response.status, cause: result.error });
      }
      const list = result.data.ListBucketResult;
      return {
        objects: list.Contents.map((c) => ({
          key: c.Key,
          size: Number(c.Size),
          lastModified: new Date(c.LastModified).toISOString(),
          etag: c.ETag,
        })),
        isTruncated: list.IsTruncated === 'true',
        nextContinuationToken: list.NextContinuationToken,
      };
    },
    /** Content type and size of one object, or null when it does not exist. */
    headObject,
    /** Metadata of a listed object version: one HEAD per version, then from the entity cache (an object gone is not kept). */
    async objectMetadata(object: StoredObject): Promise<ObjectMetadata | null> {
      const version = `${object.key}\u0000${object.etag}\u0000${object.lastModified}`;
      return (await metadataByVersion.read(version, [], async () => (await headObject(object.key)) ?? undefined)) ?? null;
    },
    /** A download URL, with the response overrides that say how the browser treats the file (policy.ts). */
    presignGet: (key: string, overrides: Record<string, string> = {}) => presign('GET', key, {}, overrides),
    /** An upload URL for exactly this type and size: storage refuses a body of any other (both are signed). */
    presignPut: (key: string, contentType: string, size: number) =>
      presign('PUT', key, { 'Content-Type': contentType, 'Content-Length': String(size) }),
  };
}
export type S3Api = ReturnType<typeof createS3Api>;
