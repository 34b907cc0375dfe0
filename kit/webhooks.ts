import { createHmac, createPublicKey, createVerify, timingSafeEqual } from 'node:crypto';

/**
 * Signature checks of provider webhooks, each exactly as its provider signs. They take the
 * raw body: a re-serialised JSON body would not verify.
 */

/** ECDSA P-256 / SHA-256 over `signedPayload` with a base64 SPKI DER key (SendGrid's Event Webhook). */
export function verifyEcdsaP256(publicKeyBase64: string, signatureBase64: string, signedPayload: Buffer): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' });
    return createVerify('sha256').update(signedPayload).verify(key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

export const hmacSha256Hex = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

/** Compares secrets in constant time (length leaks, content does not). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Whether a signed timestamp (epoch seconds) is within `toleranceSeconds` of now. */
export const isFresh = (timestampSeconds: number, toleranceSeconds: number, now = Date.now()) =>
  Number.isFinite(timestampSeconds) && Math.abs(now / 1000 - timestampSeconds) <= toleranceSeconds;
