import { createHash, createHmac, createPublicKey, createVerify, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks of provider webhooks, each exactly as its provider signs. They take the
 * raw body: a re-serialised JSON body would not verify.
 */

/**
 * Checks ECDSA P-256 / SHA-256 signatures with a base64 SPKI DER key (SendGrid's Event Webhook:
 * over timestamp + raw body). The key is imported once; a check is started with the signature
 * and fed the signed bytes as they arrive, never joined into one buffer.
 */
export function ecdsaP256Verifier(
  publicKeyBase64: string,
): (signatureBase64: string) => { update(part: string | Buffer): void; matches(): boolean } {
  const key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' });
  return (signatureBase64) => {
    const verifier = createVerify('sha256');
    return {
      update: (part) => void verifier.update(part),
      matches: () => {
        try {
          return verifier.verify(key, Buffer.from(signatureBase64, 'base64'));
        } catch {
          return false;
        }
      },
    };
  };
}

export const hmacSha256Hex = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Compares secrets in constant time: digests of equal length are compared, so neither content nor length leaks. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/**
 * The credentials of an `Authorization: Basic` header as RFC 7617 has them: the scheme in any
 * case, base64 of `user-id:password` split at the first colon (a user-id has none; a password
 * may); undefined when the header is anything else.
 */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Whether a signed timestamp (epoch seconds) is within `toleranceSeconds` of now. */
export const isFresh = (timestampSeconds: number, toleranceSeconds: number, now = Date.now()) =>
  Number.isFinite(timestampSeconds) && Math.abs(now / 1000 - timestampSeconds) <= toleranceSeconds;
