import { createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { env } from '../process/config.js';
import { LOCAL } from '../process/local-defaults.js';

/** The key gateways and subgraphs share to vouch for callers; every one of them reads it. */
export const InternalTokenConfig = z.object({
  INTERNAL_TOKEN_SECRET: env.secret(LOCAL.auth.internalTokenSecret, { minLength: 32 }),
});

/**
 * Who is calling, as the gateway verified it from the client's token. It travels to each
 * subgraph as a short-lived token for that subgraph alone, signed with a key only the
 * gateways and subgraphs hold (INTERNAL_TOKEN_SECRET): a request that reaches a subgraph any
 * other way cannot claim to be anyone, and a token taken from one subgraph's traffic opens
 * no other. Each request also carries a signature of its token and body (body-signature.ts),
 * so a token seen in traffic cannot carry a request of someone else's making (such as entity
 * representations naming another user's email).
 */
export interface Caller {
  userId: string;
  scopes: readonly string[];
  /** The client the request came through (web, mobile). */
  client: string;
  /** The user's address, lower-cased, when their token carried a verified one. */
  email?: string;
}

export const CALLER_HEADER = 'x-patchbay-caller';
const ISSUER = 'patchbay-gateway';
/** The audience of a caller token: the one subgraph it is for. */
const audienceOf = (subgraph: string) => `patchbay-subgraph:${subgraph}`;
/** Long enough for a request's slowest subgraph call, short enough to be useless if leaked. */
const TTL_SECONDS = 60;
/** A signed token is reused for new requests of the same caller while it is younger than this. */
const REUSE_SECONDS = 45;
/** Memory for signed tokens being reused; the least recently used go first. */
const ISSUED_TOKEN_BYTES = 8 * 2 ** 20;
/** A signed token's bytes beyond its caller's (header, claims, signature). */
const SIGNED_TOKEN_OVERHEAD = 256;

const keyOf = (secret: string): KeyObject => createSecretKey(Buffer.from(secret));

/**
 * Signs caller tokens, one per (caller, subgraph), and hands out the same token again for
 * most of its lifetime: signing is the gateway's work per request, reusing it is a lookup
 * (answered at once, without a promise, as it happens on every subgraph call).
 */
export function createCallerSigner(secret: string): (caller: Caller, subgraph: string) => string | Promise<string> {
  const key = keyOf(secret);
  // Bounded in bytes: scopes come from client tokens, which may be long.
  const issued = new LRUCache<string, { token: string | Promise<string>; reuseUntil: number }>({
    maxSize: ISSUED_TOKEN_BYTES,
    sizeCalculation: (_entry, cacheKey) => 2 * cacheKey.length + SIGNED_TOKEN_OVERHEAD,
  });
  return (caller, subgraph) => {
    const cacheKey = `${subgraph}\u0000${caller.client}\u0000${caller.userId}\u0000${caller.email ?? ''}\u0000${caller.scopes.join(' ')}`;
    const known = issued.get(cacheKey);
    if (known && Date.now() < known.reuseUntil) return known.token;
    const entry: { token: string | Promise<string>; reuseUntil: number } = { token: '', reuseUntil: Date.now() + REUSE_SECONDS * 1000 };
    entry.token = new SignJWT({ scope: caller.scopes.join(' '), client: caller.client, ...(caller.email ? { email: caller.email } : {}) })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(caller.userId)
      .setIssuer(ISSUER)
      .setAudience(audienceOf(subgraph))
      .setIssuedAt()
      .setExpirationTime(`${TTL_SECONDS}s`)
      .sign(key)
      .then(
        (token) => (entry.token = token),
        (error: unknown) => {
          issued.delete(cacheKey);
          throw error;
        },
      );
    issued.set(cacheKey, entry);
    return entry.token;
  };
}

/** Reads a subgraph's caller header: the caller, or undefined when it is missing, forged, expired or for another subgraph. */
export function createCallerVerifier(secret: string, subgraph: string): (token: string | undefined) => Promise<Caller | undefined> {
  const key = keyOf(secret);
  const audience = audienceOf(subgraph);
  return async (token) => {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, key, { issuer: ISSUER, audience, algorithms: ['HS256'], requiredClaims: ['exp'] });
      if (typeof payload.sub !== 'string') return undefined;
      return {
        userId: payload.sub,
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        client: typeof payload.client === 'string' ? payload.client : 'unknown',
        ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
      };
    } catch {
      return undefined;
    }
  };
}
