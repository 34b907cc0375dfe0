import { createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { env } from '../kit/process/config.js';
import { LOCAL } from '../kit/process/local-defaults.js';
import type { Logger } from '../kit/process/logger.js';
import { KeysUnavailableError, createKeySet } from './jwks.js';

/** How client tokens are verified: an HS256 secret, or the keys an identity provider publishes. */
export const AuthConfig = z.object({
  /** Shared HS256 secret; used when JWT_JWKS_URL is not set. */
  JWT_SECRET: env.secret(LOCAL.auth.jwtSecret, { minLength: 32, unlessSet: 'JWT_JWKS_URL' }),
  /** JWKS of the identity provider (RS256/ES256/EdDSA keys); takes precedence over JWT_SECRET. */
  JWT_JWKS_URL: env.url().optional(),
  JWT_ISSUER: env.local(z.string().min(1).default(LOCAL.auth.issuer)),
  JWT_AUDIENCE: env.local(z.string().min(1).default(LOCAL.auth.audience)),
  /** Longest token lifetime accepted, counted from iat and from now: a stolen long-lived token is refused. */
  JWT_MAX_LIFETIME_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
});
export type AuthConfig = z.infer<typeof AuthConfig>;

/** A verified client identity. */
export interface Identity {
  userId: string;
  scopes: string[];
  /** When the token stops being valid (ms since the epoch): a subscription it opened ends then. */
  expiresAt: number;
  /** The user's address, lower-cased, when the token carries a verified one (`email`, `email_verified` not false). */
  email?: string;
}

/** Why a request's credentials were refused, as metrics count it. */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'claim'
  | 'algorithm'
  | 'unknown_key'
  | 'signature'
  | 'lifetime'
  | 'issued_in_future'
  | 'keys_unavailable';

/**
 * Why a token was refused, in words a client developer can act on (never the token).
 * `unavailable` when the keys to check it could not be had: the client may try again.
 */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly reason: AuthFailure,
  ) {
    super(message);
    this.name = 'AuthError';
  }
  get unavailable(): boolean {
    return this.reason === 'keys_unavailable';
  }
}

const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
/** Clock difference tolerated between the identity provider and this gateway. */
const CLOCK_SKEW_SECONDS = 5;
/**
 * Verified tokens remembered, bounded in bytes (a token is up to the 16 KB header limit): a
 * token is checked once and then looked up until it expires.
 */
const VERIFIED_TOKEN_BYTES = 8 * 2 ** 20;

/** Checks a bearer token: at once (no promise) for a token already verified, which is most of them. */
export type Verifier = (authorization: string | null | undefined) => Identity | Promise<Identity>;

export function createVerifier(config: AuthConfig, logger: Logger): Verifier {
  // The key is imported once: an HMAC key re-imported per request was a fifth of the gateway's CPU.
  const key: KeyObject | JWTVerifyGetKey = config.JWT_JWKS_URL
    ? createKeySet(config.JWT_JWKS_URL, { logger }).getKey
    : createSecretKey(Buffer.from(config.JWT_SECRET));
  // Pinned algorithms: "none" and algorithm swaps (an HS256 token signed with a public key) never verify.
  const algorithms = config.JWT_JWKS_URL ? ASYMMETRIC : ['HS256'];
  const verified = new LRUCache<string, { identity: Identity; notBefore: number; expiresAt: number }>({
    maxSize: VERIFIED_TOKEN_BYTES,
    sizeCalculation: (entry, token) =>
      token.length + entry.identity.userId.length + entry.identity.scopes.join(' ').length + (entry.identity.email?.length ?? 0) + 64,
  });

  const verify = async (token: string): Promise<Identity> => {
    try {
      const { payload } = await jwtVerify(token, key as KeyObject, {
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        algorithms,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['sub', 'exp'],
      });
      const now = Math.floor(Date.now() / 1000);
      if (payload.iat !== undefined && payload.iat > now + CLOCK_SKEW_SECONDS)
        throw new AuthError('Token was issued in the future', 'issued_in_future');
      // From iat and from now: a token claiming a recent iat cannot stretch its life into the future.
      const lifetime = payload.exp! - Math.min(payload.iat ?? now, now);
      if (lifetime > config.JWT_MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS)
        throw new AuthError(`Token lifetime is longer than the ${config.JWT_MAX_LIFETIME_SECONDS} seconds accepted`, 'lifetime');
      const scope = payload.scope ?? payload.scp;
      const scopes = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : Array.isArray(scope) ? scope.map(String) : [];
      const expiresAt = (payload.exp! + CLOCK_SKEW_SECONDS) * 1000;
      const email = verifiedEmail(payload);
      const identity = { userId: String(payload.sub), scopes, expiresAt, ...(email ? { email } : {}) };
      verified.set(token, { identity, notBefore: ((payload.nbf ?? 0) - CLOCK_SKEW_SECONDS) * 1000, expiresAt });
      return identity;
    } catch (error) {
      throw describe(error);
    }
  };
  return (authorization) => {
    if (!authorization) throw new AuthError('Authentication required: send Authorization: Bearer <token>', 'missing');
    const match = /^Bearer ([\w-]+\.[\w-]*\.[\w-]*)$/.exec(authorization);
    if (!match) throw new AuthError('Authorization must be "Bearer <JWT>"', 'malformed');
    const token = match[1]!;
    const known = verified.get(token);
    const now = Date.now();
    if (known && now >= known.notBefore && now < known.expiresAt) return known.identity;
    return verify(token);
  };
}

/** OpenID Connect's `email` claim, unless the identity provider says it is not verified. */
function verifiedEmail(payload: JWTPayload): string | undefined {
  if (typeof payload.email !== 'string' || payload.email_verified === false || payload.email.length > 254) return undefined;
  return payload.email.toLowerCase();
}

function describe(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof errors.JWTExpired) return new AuthError('Token has expired', 'expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new AuthError('Token is not valid yet', 'not_yet_valid');
    return new AuthError(`Token claim "${error.claim}" is not accepted`, 'claim');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new AuthError('Token algorithm is not accepted', 'algorithm');
  if (error instanceof errors.JWKSNoMatchingKey) return new AuthError('Token was signed with an unknown key', 'unknown_key');
  if (error instanceof KeysUnavailableError) return new AuthError('Token keys could not be fetched; try again', 'keys_unavailable');
  return new AuthError('Token signature or format is invalid', 'signature');
}

/** A token this configuration accepts, signed with its HS256 secret (local development, tests); `email` as OpenID Connect's claim. */
export function mintToken(
  config: AuthConfig,
  userId: string,
  scopes: readonly string[],
  ttlSeconds = 3600,
  { email }: { email?: string } = {},
): Promise<string> {
  return new SignJWT({ scope: scopes.join(' '), ...(email ? { email, email_verified: true } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(createSecretKey(Buffer.from(config.JWT_SECRET)));
}
