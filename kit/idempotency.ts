import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';

/**
 * What happened to the first request with an idempotency key. `pending` while it runs;
 * `done` with its result; `unknown` when it failed after the provider may have acted on it
 * (a timeout after the body was sent): such a key never runs again within its retention.
 */
export type IdempotencyRecord<T> =
  | { state: 'pending'; fingerprint: string }
  | { state: 'done'; fingerprint: string; result: T }
  | { state: 'unknown'; fingerprint: string; code: string };

/**
 * Where idempotency keys live: in this process by default, in Redis when several replicas
 * must see the same keys. `claim` is atomic: of concurrent claims of one key, one wins.
 */
export interface IdempotencyStore {
  /** Claims the key for a new request; returns the existing record when someone already has. */
  claim<T>(key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyRecord<T> | 'claimed'>;
  get<T>(key: string): Promise<IdempotencyRecord<T> | undefined>;
  settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number): Promise<void>;
  /** Gives the key back: the request provably did nothing, so a retry may run it. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, { record: IdempotencyRecord<unknown>; expiresAt: number }>();

  async claim<T>(key: string, fingerprint: string, ttlMs: number) {
    const existing = await this.get<T>(key);
    if (existing) return existing;
    this.records.set(key, { record: { state: 'pending', fingerprint }, expiresAt: Date.now() + ttlMs });
    return 'claimed' as const;
  }
  async get<T>(key: string) {
    const entry = this.records.get(key);
    if (entry && entry.expiresAt <= Date.now()) this.records.delete(key);
    return this.records.get(key)?.record as IdempotencyRecord<T> | undefined;
  }
  async settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number) {
    this.records.set(key, { record, expiresAt: Date.now() + ttlMs });
  }
  async release(key: string) {
    this.records.delete(key);
  }
  async close() {}
}

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redis: Redis;
  constructor(url: string, private readonly prefix = 'patchbay:idempotency:') {
    // Fail fast rather than queue commands forever when Redis is away: a send then errors.
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  }
  async claim<T>(key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyRecord<T> | 'claimed'> {
    const pending: IdempotencyRecord<T> = { state: 'pending', fingerprint };
    const won = await this.redis.set(this.prefix + key, JSON.stringify(pending), 'PX', ttlMs, 'NX');
    if (won === 'OK') return 'claimed' as const;
    return (await this.get<T>(key)) ?? this.claim<T>(key, fingerprint, ttlMs);
  }
  async get<T>(key: string) {
    const value = await this.redis.get(this.prefix + key);
    return value ? (JSON.parse(value) as IdempotencyRecord<T>) : undefined;
  }
  async settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number) {
    await this.redis.set(this.prefix + key, JSON.stringify(record), 'PX', ttlMs);
  }
  async release(key: string) {
    await this.redis.del(this.prefix + key);
  }
  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export const createIdempotencyStore = (redisUrl: string | undefined): IdempotencyStore =>
  redisUrl ? new RedisIdempotencyStore(redisUrl) : new MemoryIdempotencyStore();

export interface RunOnceOptions {
  /** How long a settled key answers with its first result. */
  retentionMs: number;
  /** How long a key stays claimed while its request runs (a crashed request frees it then). */
  pendingMs: number;
  /** How long a request waits for the same key's request in flight before giving up. */
  waitMs: number;
  /** Whether a failure may have had its effect anyway (then the key never runs again). */
  mayHaveActed(error: unknown): boolean;
}

const keyError = (message: string, code: string, retryable: boolean) => new GraphQLError(message, { extensions: { code, retryable } });

/**
 * Runs `work` once per key. The same key again returns the first result; while the first
 * request runs, later ones (from any replica sharing the store) wait for it; a first request
 * that failed after it may have acted (say, a send that timed out after the provider took
 * it) is never run again; one that provably did nothing frees the key for a retry.
 */
export async function runOnce<T>(store: IdempotencyStore, key: string, fingerprint: string, work: () => Promise<T>, options: RunOnceOptions): Promise<T> {
  const giveUpAt = Date.now() + options.waitMs;
  for (;;) {
    const claim = await store.claim<T>(key, fingerprint, options.pendingMs);
    if (claim === 'claimed') break;
    if (claim.fingerprint !== fingerprint) {
      throw keyError('This idempotency key was used for a different request; use a new key for a new request', 'IDEMPOTENCY_KEY_REUSED', false);
    }
    if (claim.state === 'done') return claim.result;
    if (claim.state === 'unknown') {
      throw keyError(
        `The first request with this idempotency key failed (${claim.code}) after it may have taken effect; it is not repeated`,
        'IDEMPOTENT_OUTCOME_UNKNOWN',
        false,
      );
    }
    if (Date.now() >= giveUpAt) throw keyError('A request with this idempotency key is still running; ask again shortly', 'IDEMPOTENCY_KEY_IN_USE', true);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    const result = await work();
    await store.settle(key, { state: 'done', fingerprint, result }, options.retentionMs);
    return result;
  } catch (error) {
    if (options.mayHaveActed(error)) {
      const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
      await store.settle(key, { state: 'unknown', fingerprint, code: typeof code === 'string' ? code : 'ERROR' }, options.retentionMs);
    } else {
      await store.release(key);
    }
    throw error;
  }
}
