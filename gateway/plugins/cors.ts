import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';

/** How long a browser may keep a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * CORS for a client's browser origins: a request from one of them gets exactly its origin
 * back; any other origin, `null` included (sandboxed frames, local files, some redirects),
 * gets no CORS headers at all, unless `null` is configured literally. (The engine's own
 * answer to an unknown origin among several is `access-control-allow-origin: null`, which
 * lets every `null` origin in.) Answers vary by Origin, so a shared cache keeps them apart.
 */
export function corsFor(origins: readonly string[]) {
  if (!origins.length) return false;
  const allowed = new Set(origins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    return origin !== null && allowed.has(origin) ? { origin, credentials: false, maxAge: PREFLIGHT_MAX_AGE } : false;
  };
}

/** `Vary: Origin` on every answer of a gateway that serves browser origins. */
export function useVaryOnOrigin(): GatewayPlugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary');
      if (
        !vary
          ?.toLowerCase()
          .split(/\s*,\s*/)
          .includes('origin')
      )
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}
