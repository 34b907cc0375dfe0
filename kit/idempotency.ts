import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

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
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  // Bounded: the oldest keys go first when a process holds more than this many.
  private readonly records = new LRUCache<string, IdempotencyRecord<unknown>>({ max: 100_000 });

  async claim<T>(key: string, fingerprint: string, ttlMs: number) {
    const existing = await this.get<T>(key);
    if (existing) return existing;
    this.records.set(key, { state: 'pending', fingerprint }, { ttl: ttlMs });
    return 'claimed' as const;
  }
  async get<T>(key: string) {
    return this.records.get(key) as IdempotencyRecord<T> | undefined;
  }
  async settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number) {
    this.records.set(key, record, { ttl: ttlMs });
  }
  async release(key: string) {
    this.records.delete(key);
  }
}

/** Keys in Redis, over a connection the caller owns (and closes). */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'patchbay:idempotency:',
  ) {}
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
}

export const createIdempotencyStore = (redis: Redis | undefined): IdempotencyStore =>
  redis ? new RedisIdempotencyStore(redis) : new MemoryIdempotencyStore();

/** Whether `token` is offered for the first time within `ttlMs` (webhook replay protection). */
export async function firstUse(store: IdempotencyStore, token: string, ttlMs: number): Promise<boolean> {
  return (await store.claim(`seen:${token}`, 'seen', ttlMs)) === 'claimed';
}

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
