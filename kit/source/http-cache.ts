import type http from 'node:http';
import CachePolicy from 'http-cache-semantics';
import { LRUCache } from 'lru-cache';

/** A request as the cache sees it: lower-case header names. */
export interface CacheRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export interface CachedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Entry {
  policy: CachePolicy;
  response: CachedResponse;
}

export type CacheLookup =
  | { kind: 'fresh'; response: CachedResponse }
  | { kind: 'stale'; entry: Entry; revalidationHeaders: Record<string, string> }
  | { kind: 'miss' };

export interface CacheOptions {
  maxEntries: number;
  /** Bodies kept in all, in bytes. */
  maxBytes: number;
}

/**
 * An HTTP cache of one upstream's GET responses, by RFC 9111 (http-cache-semantics):
 * fresh entries are served without a call, stale ones with a validator are revalidated
 * (If-None-Match / If-Modified-Since, 304 reuses the body), `no-store` is never kept.
 * It is a private cache: every call carries the same service credentials, so the upstream
 * sees one client, whoever asked patchbay.
 */
export class HttpCache {
  private readonly entries: LRUCache<string, Entry>;

  constructor(options: CacheOptions) {
    this.entries = new LRUCache({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry) => entry.response.body.length + 1,
    });
  }

  lookup(request: CacheRequest): CacheLookup {
    const entry = this.entries.get(request.url);
    if (!entry) return { kind: 'miss' };
    if (entry.policy.satisfiesWithoutRevalidation(request)) {
      return { kind: 'fresh', response: { ...entry.response, headers: entry.policy.responseHeaders() as http.IncomingHttpHeaders } };
    }
    const headers = entry.policy.revalidationHeaders(request) as Record<string, string>;
    const revalidationHeaders: Record<string, string> = {};
    for (const name of ['if-none-match', 'if-modified-since']) {
      if (headers[name]) revalidationHeaders[name] = headers[name];
    }
    if (Object.keys(revalidationHeaders).length === 0) return { kind: 'miss' };
    return { kind: 'stale', entry, revalidationHeaders };
  }

  /**
   * Keeps a response when its headers allow. `defaultTtlMs` is the freshness given to a
   * response that states none (no max-age, no Expires); an explicit no-store still wins.
   */
  store(request: CacheRequest, response: CachedResponse, defaultTtlMs?: number): void {
    const headers = { ...response.headers };
    if (defaultTtlMs && !headers['cache-control'] && !headers.expires) {
      headers['cache-control'] = `max-age=${Math.floor(defaultTtlMs / 1000)}`;
    }
    const policy = new CachePolicy(request, { status: response.status, headers }, { shared: false });
    if (!policy.storable()) return;
    const hasValidator = Boolean(headers.etag || headers['last-modified']);
    if (policy.timeToLive() <= 0 && !hasValidator) return;
    this.entries.set(request.url, { policy, response: { ...response, headers } });
  }

  /** Applies a 304 to a stale entry; returns the response to serve, or undefined when it no longer matches. */
  revalidated(request: CacheRequest, entry: Entry, notModified: CachedResponse): CachedResponse | undefined {
    const { policy, modified } = entry.policy.revalidatedPolicy(request, { status: notModified.status, headers: notModified.headers });
    if (modified) {
      this.entries.delete(request.url);
      return undefined;
    }
    this.entries.set(request.url, { policy, response: entry.response });
    return { ...entry.response, headers: policy.responseHeaders() as http.IncomingHttpHeaders };
  }

  clear(): void {
    this.entries.clear();
  }
}
