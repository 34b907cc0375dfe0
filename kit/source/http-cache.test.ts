import { describe, expect, test } from '@jest/globals';
import { HttpCache, type CacheRequest } from './http-cache.js';

const request: CacheRequest = { method: 'GET', url: 'https://api.example.com/users/1', headers: {} };
const response = (headers: Record<string, string>, body = 'hello') => ({ status: 200, headers, body: Buffer.from(body) });
const cache = () => new HttpCache({ maxEntries: 10, maxBytes: 1024 });

describe('HttpCache', () => {
  test('serves a fresh response without a call', () => {
    const http = cache();
    http.store(request, response({ 'cache-control': 'max-age=60' }));
    const lookup = http.lookup(request);
    expect(lookup.kind).toBe('fresh');
    expect(lookup.kind === 'fresh' && lookup.response.body.toString()).toBe('hello');
  });

  test('revalidates a stale one that has a validator, and forgets one that has none', () => {
    const http = cache();
    http.store(request, response({ 'cache-control': 'max-age=0', etag: '"v1"' }));
    const lookup = http.lookup(request);
    expect(lookup).toMatchObject({ kind: 'stale', revalidationHeaders: { 'if-none-match': '"v1"' } });
    const other = { ...request, url: 'https://api.example.com/users/2' };
    http.store(other, response({ 'cache-control': 'max-age=0' }));
    expect(http.lookup(other).kind).toBe('miss');
  });

  test('never keeps no-store, and gives a default freshness only to responses that state none', () => {
    const http = cache();
    http.store(request, response({ 'cache-control': 'no-store' }), 60_000);
    expect(http.lookup(request).kind).toBe('miss');
    http.store(request, response({}), 60_000);
    expect(http.lookup(request).kind).toBe('fresh');
    const stated = { ...request, url: 'https://api.example.com/users/3' };
    http.store(stated, response({ 'cache-control': 'max-age=0' }), 60_000);
    expect(http.lookup(stated).kind).toBe('miss');
  });

  test('keeps within its byte budget, dropping the least recently used', () => {
    const http = new HttpCache({ maxEntries: 10, maxBytes: 1000 });
    const at = (n: number) => ({ ...request, url: `https://api.example.com/blobs/${n}` });
    for (let n = 0; n < 3; n++) http.store(at(n), response({ 'cache-control': 'max-age=60' }, 'x'.repeat(400)));
    expect([0, 1, 2].map((n) => http.lookup(at(n)).kind)).toEqual(['miss', 'fresh', 'fresh']);
  });
});
