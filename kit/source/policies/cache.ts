import type { ChainPolicy } from '../chain.js';
import { HttpCache, type CacheOptions, type CachedResponse } from '../http-cache.js';
import { buildResponse } from '../response.js';

export interface CacheObservers {
  /** Each lookup: hit (no call), revalidated (a 304 reused the body), miss. */
  onLookup?(result: 'hit' | 'revalidated' | 'miss'): void;
}

/**
 * A source's read path through its HTTP cache (http-cache.ts): fresh GETs answered without a
 * call, stale ones revalidated with their validators (the rest of the chain sends the
 * conditional request), 200s stored.
 */
export function cachePolicy(source: string, options: CacheOptions, observers: CacheObservers = {}): ChainPolicy & { clear(): void } {
  const cache = new HttpCache(options);
  const served = (response: CachedResponse) => buildResponse(source, response.status, response.headers, response.body);
  const countAs = (result: 'hit' | 'revalidated' | 'miss') => observers.onLookup?.(result);
  return {
    clear: () => cache.clear(),
    async execute(next, signal, context) {
      const { prepared, request } = context.call;
      if (prepared.method !== 'GET') return next({ signal });
      const cacheRequest = { method: 'GET', url: prepared.url.href, headers: prepared.headers };
      const found = cache.lookup(cacheRequest);
      if (found.kind === 'fresh') {
        countAs('hit');
        return served(found.response);
      }
      if (found.kind === 'stale') {
        const conditional = { ...prepared, headers: { ...prepared.headers, ...found.revalidationHeaders } };
        const response = await next({ signal, call: { ...context.call, prepared: conditional } });
        const reused = response.status === 304 ? cache.revalidated(cacheRequest, found.entry, response) : undefined;
        if (reused) {
          countAs('revalidated');
          return served(reused);
        }
        if (response.status !== 304) {
          countAs('miss');
          if (response.status === 200) cache.store(cacheRequest, response, request.cacheTtlMs);
          return response;
        }
      }
      countAs('miss');
      const response = await next({ signal });
      if (response.status === 200) cache.store(cacheRequest, response, request.cacheTtlMs);
      return response;
    },
  };
}
