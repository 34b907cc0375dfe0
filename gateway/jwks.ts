import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { Logger } from '../kit/process/logger.js';
import { createSource, type Source } from '../kit/source/index.js';
import { messageOf } from '../kit/process/caught.js';

/** The keys could not be had: the token may be fine, the client may ask again. */
export class KeysUnavailableError extends Error {
  constructor() {
    super('The identity provider keys could not be fetched');
    this.name = 'KeysUnavailableError';
  }
}

const JsonWebKeySet = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

export interface KeySetOptions {
  logger: Logger;
  /** How often the keys are fetched again while in use (rotation reaches the gateway within this). */
  refreshMs?: number;
  /** Least time between fetches for a key id not known: unknown ids cannot make it fetch on every request. */
  cooldownMs?: number;
}

/**
 * The identity provider's signing keys (JWT_JWKS_URL), kept in the process. Fetched through
 * the source layer (timeout, retry, breaker) when first needed, then again every `refreshMs`
 * in the background, and at once (at most every `cooldownMs`) when a token names a key not
 * known, which is how a rotation is picked up early. When the provider cannot be reached, the
 * keys already known keep verifying, so a blip fails nobody whose key is known; only a token
 * whose key cannot be checked fails, with KeysUnavailableError (503 with Retry-After).
 */
export function createKeySet(jwksUrl: string, options: KeySetOptions): { getKey: JWTVerifyGetKey; source: Source } {
  const { logger, refreshMs = 10 * 60_000, cooldownMs = 30_000 } = options;
  const url = new URL(jwksUrl);
  const source = createSource({
    name: 'gateway.jwks',
    baseUrl: url.origin,
    headers: { accept: 'application/json' },
    timeoutMs: 3000,
    deadlineMs: 6000,
    retry: { attempts: 2, on: [429, 500, 502, 503, 504] },
    breaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
    logger,
  });
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let lastAttempt = 0;
  let lastFailed = false;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fetchKeys = (): Promise<void> =>
    (inFlight ??= (async () => {
      lastAttempt = Date.now();
      try {
        const response = await source.request({ operation: 'jwks', path: url.pathname, query: Object.fromEntries(url.searchParams) });
        keys = createLocalJWKSet(response.json(JsonWebKeySet) as JSONWebKeySet);
        lastFailed = false;
      } catch (error) {
        lastFailed = true;
        logger.warn({ err: messageOf(error), keysKnown: keys !== undefined }, 'identity provider keys could not be fetched');
      } finally {
        inFlight = undefined;
      }
      timer ??= setInterval(() => void fetchKeys(), refreshMs).unref();
    })());

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!keys) await fetchKeys();
    if (!keys) throw new KeysUnavailableError();
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (Date.now() - lastAttempt >= cooldownMs) {
        await fetchKeys();
        if (!lastFailed) return keys(header, token);
      }
      // A key we cannot check while the provider is away may be one it has just rotated in.
      if (lastFailed) throw new KeysUnavailableError();
      throw error;
    }
  };
  return { getKey, source };
}
