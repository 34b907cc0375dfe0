import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';

/** The header that carries a subgraph request's signature. */
export const SIGNATURE_HEADER = 'x-patchbay-signature';
const SIGNATURE_VERSION = 'v1=';

/**
 * Signs (or checks) a subgraph request: HMAC-SHA256 over its caller token and its exact body,
 * with a key of its own derived from the internal secret. Synchronous and cheap (a hash of the
 * body), as it runs on every subgraph call.
 */
export function createRequestSignature(secret: string): {
  sign(callerToken: string, body: string | Buffer): string;
  matches(signature: string | undefined, callerToken: string, body: Buffer): boolean;
} {
  // A key object: a Buffer would be imported again on every call.
  const key = createSecretKey(createHmac('sha256', secret).update('patchbay subgraph request signature').digest());
  // One update for a body still in text: the same bytes, hashed in one call into the native code.
  const hmac = (callerToken: string, body: string | Buffer) =>
    typeof body === 'string'
      ? createHmac('sha256', key).update(`${callerToken}\n${body}`)
      : createHmac('sha256', key).update(callerToken).update('\n').update(body);
  const digest = (callerToken: string, body: string | Buffer) => hmac(callerToken, body).digest();
  return {
    sign: (callerToken, body) => SIGNATURE_VERSION + hmac(callerToken, body).digest('base64url'),
    matches(signature, callerToken, body) {
      if (!signature?.startsWith(SIGNATURE_VERSION)) return false;
      const given = Buffer.from(signature.slice(SIGNATURE_VERSION.length), 'base64url');
      const expected = digest(callerToken, body);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
