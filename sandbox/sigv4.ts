import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4 verification, as S3 does it: header auth (Authorization) and
 * query auth (presigned URLs). Written from the SigV4 spec on node:crypto and checked
 * against AWS's published example signatures; the client side signs with the aws4
 * package, so the two sides are independent implementations.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface IncomingSignedRequest {
  method: string;
  /** Path exactly as received (still percent-encoded). */
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** sha256 hex of the body received, to check x-amz-content-sha256. */
  bodySha256: string;
}

export type VerifyResult = { ok: true; accessKeyId: string } | { ok: false; status: number; code: string; message: string };

const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_SECONDS = 604_800;

export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 unreserved characters stay; everything else is %XX (upper case). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => uriEncode(safeDecode(segment)))
    .join('/');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function canonicalQuery(query: URLSearchParams, omit?: string): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of query) if (k !== omit) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
}

export function buildCanonicalRequest(
  request: Pick<IncomingSignedRequest, 'method' | 'rawPath' | 'query' | 'headers'>,
  signedHeaders: string[],
  payloadHash: string,
  omitQuery?: string,
): string | undefined {
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) return undefined;
    lines.push(`${name}:${value}\n`);
  }
  return [
    request.method,
    canonicalPath(request.rawPath),
    canonicalQuery(request.query, omitQuery),
    lines.join(''),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

function equalHex(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

const denied = (status: number, code: string, message: string): VerifyResult => ({ ok: false, status, code, message });

/** Verifies header or query SigV4 auth of an S3 request against known credentials. */
export function verifyS3Request(
  request: IncomingSignedRequest,
  lookup: (accessKeyId: string) => Credentials | undefined,
  region: string,
  now: number = Date.now(),
): VerifyResult {
  const presigned = request.query.has('X-Amz-Signature');
  const authorization = headerValue(request.headers, 'authorization');

  let credential: string;
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string | undefined;
  let payloadHash: string;

  if (presigned) {
    if (request.query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      return denied(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    credential = request.query.get('X-Amz-Credential') ?? '';
    signedHeaders = (request.query.get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean);
    signature = request.query.get('X-Amz-Signature') ?? '';
    amzDate = request.query.get('X-Amz-Date') ?? undefined;
    payloadHash = 'UNSIGNED-PAYLOAD';
    const expires = Number(request.query.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      return denied(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be a number of seconds from 1 to 604800');
    }
    const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
    if (signedAt === undefined)
      return denied(400, 'AuthorizationQueryParametersError', "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    if (now > signedAt + expires * 1000) return denied(403, 'AccessDenied', 'Request has expired');
    if (signedAt - now > MAX_SKEW_MS) return denied(403, 'AccessDenied', 'Request is not valid yet');
  } else if (authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    const fields = Object.fromEntries(
      authorization
        .slice('AWS4-HMAC-SHA256 '.length)
        .split(',')
        .map((part) => part.trim().split('=') as [string, string]),
    );
    credential = fields.Credential ?? '';
    signedHeaders = (fields.SignedHeaders ?? '').split(';').filter(Boolean);
    signature = fields.Signature ?? '';
    amzDate = headerValue(request.headers, 'x-amz-date');
    const declared = headerValue(request.headers, 'x-amz-content-sha256');
    if (!declared) return denied(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    payloadHash = declared;
    if (declared !== 'UNSIGNED-PAYLOAD' && !declared.startsWith('STREAMING-') && declared !== request.bodySha256) {
      return denied(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    const signedAt = amzDate ? parseAmzDate(amzDate) : undefined;
    if (signedAt === undefined) return denied(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
      return denied(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
  } else if (authorization) {
    return denied(400, 'InvalidArgument', 'Unsupported Authorization Type');
  } else {
    return denied(403, 'AccessDenied', 'Access Denied');
  }

  const [accessKeyId, date, scopeRegion, service, terminator] = credential.split('/');
  if (!accessKeyId || !date || !scopeRegion || service !== 's3' || terminator !== 'aws4_request') {
    return denied(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the Credential is mal-formed.');
  }
  if (scopeRegion !== region) {
    return denied(
      400,
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${scopeRegion}' is wrong; expecting '${region}'`,
    );
  }
  if (!amzDate?.startsWith(date)) {
    return denied(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  const creds = lookup(accessKeyId);
  if (!creds) return denied(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (!signedHeaders.includes('host')) {
    return denied(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }

  const canonical = buildCanonicalRequest(request, signedHeaders, payloadHash, presigned ? 'X-Amz-Signature' : undefined);
  if (canonical === undefined) {
    return denied(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  const scope = `${date}/${scopeRegion}/s3/aws4_request`;
  const expected = createHmac('sha256', signingKey(creds.secretAccessKey, date, scopeRegion, 's3'))
    .update(stringToSign(amzDate, scope, canonical))
    .digest('hex');
  if (!equalHex(expected, signature)) {
    return denied(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return { ok: true, accessKeyId };
}
