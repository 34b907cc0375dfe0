import { HttpCache, type CacheOptions, type CachedResponse } from './http-cache.js';
import type { SourceMetrics } from './metrics.js';
import type { OutgoingRequest, RequestOptions } from './source.js';
import { trace } from './tracing.js';
import { buildResponse, type UpstreamResponse } from './upstream-response.js';

type Execute = (request: RequestOptions, prepared: OutgoingRequest) => Promise<UpstreamResponse>;

/**
 * A source's read path through its HTTP cache (kit/http-cache.ts): fresh GETs answered
 * without a call, stale ones revalidated with their validators, 200s stored. Every lookup is
 * counted and named on the call's span (hit, revalidated, miss).
 */
export function readThroughCache(name: string, options: CacheOptions, metrics: SourceMetrics | undefined, execute: Execute) {
  const cache = new HttpCache(options);
  const served = (response: CachedResponse) => buildResponse(name, response.status, response.headers, response.body);
  const countAs = (result: 'hit' | 'revalidated' | 'miss') => {
    metrics?.cacheLookups.inc({ source: name, result });
    trace.getActiveSpan()?.setAttribute('patchbay.cache', result);
  };

  async function read(request: RequestOptions, prepared: OutgoingRequest): Promise<UpstreamResponse> {
    if (prepared.method !== 'GET') return execute(request, prepared);
    const cacheRequest = { method: 'GET', url: prepared.url.href, headers: prepared.headers };
    const found = cache.lookup(cacheRequest);
    if (found.kind === 'fresh') {
      countAs('hit');
      return served(found.response);
    }
    if (found.kind === 'stale') {
      const conditional = { ...prepared, headers: { ...prepared.headers, ...found.revalidationHeaders } };
      const response = await execute(request, conditional);
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
    const response = await execute(request, prepared);
    if (response.status === 200) cache.store(cacheRequest, response, request.cacheTtlMs);
    return response;
  }

  return { read, clear: () => cache.clear() };
}
