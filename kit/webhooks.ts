import { createHmac, createPublicKey, createVerify, timingSafeEqual } from 'node:crypto';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

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

/**
 * Remembers the tokens seen within the tolerance window, so a captured request cannot be
 * replayed: in this process, or in Redis so that a replay to another replica is caught too.
 */
export interface ReplayGuard {
  /** True the first time a token is offered, false on every repeat. */
  firstUse(token: string): Promise<boolean>;
  close(): Promise<void>;
}

export function createReplayGuard(windowSeconds: number, redisUrl?: string): ReplayGuard {
  if (!redisUrl) {
    const seen = new LRUCache<string, true>({ max: 100_000, ttl: windowSeconds * 2 * 1000 });
    return {
      async firstUse(token) {
        if (seen.has(token)) return false;
        seen.set(token, true);
        return true;
      },
      async close() {},
    };
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  return {
    async firstUse(token) {
      return (await redis.set(`patchbay:webhook:seen:${token}`, '1', 'EX', windowSeconds * 2, 'NX')) === 'OK';
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
