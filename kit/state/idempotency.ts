import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Logger } from '../process/logger.js';
import type { RedisConnection } from './redis.js';
import { graphqlCodeOf, messageOf } from '../process/caught.js';

/**
 * What happened to the first request with an idempotency key. `pending` while it runs;
 * `done` with its result; `unknown` when it failed after the provider may have acted on it
 * (a timeout after the body was sent): such a key never runs again within its retention.
 */
export type IdempotencyRecord<T> =
  | { state: 'pending'; fingerprint: string; owner: string }
  | { state: 'done'; fingerprint: string; result: T }
  | { state: 'unknown'; fingerprint: string; code: string };

/** A record as read back from Redis: its envelope checked; its result is what the request that settled it stored. */
const StoredRecord = z.discriminatedUnion('state', [
  z.object({ state: z.literal('pending'), fingerprint: z.string(), owner: z.string() }),
  z.object({ state: z.literal('done'), fingerprint: z.string(), result: z.unknown() }),
  z.object({ state: z.literal('unknown'), fingerprint: z.string(), code: z.string() }),
]);

/**
 * Where idempotency keys live: in this process by default, in Redis when several replicas
 * must see the same keys. `claim` is atomic: of concurrent claims of one key, one wins.
 */
export interface IdempotencyStore {
  /** Claims the key for `owner`; returns the existing record when someone already has it. */
  claim<T>(key: string, fingerprint: string, owner: string, ttlMs: number): Promise<IdempotencyRecord<T> | 'claimed'>;
  get<T>(key: string): Promise<IdempotencyRecord<T> | undefined>;
  settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number): Promise<void>;
  /** Gives back a key `owner` still holds as pending: its request provably did nothing. */
  release(key: string, owner: string): Promise<void>;
}

/** What one process keeps of idempotency keys and their results, without Redis. */
const MEMORY_STORE_BYTES = 32 * 2 ** 20;

export class MemoryIdempotencyStore implements IdempotencyStore {
  // Bounded in bytes (keys and results come from clients): the least recently used go first.
  private readonly records = new LRUCache<string, IdempotencyRecord<unknown>>({
    maxSize: MEMORY_STORE_BYTES,
    sizeCalculation: (record, key) => 2 * (key.length + JSON.stringify(record).length),
  });

  async claim<T>(key: string, fingerprint: string, owner: string, ttlMs: number) {
    const existing = await this.get<T>(key);
    if (existing) return existing;
    this.records.set(key, { state: 'pending', fingerprint, owner }, { ttl: ttlMs });
    return 'claimed' as const;
  }
  async get<T>(key: string) {
    return this.records.get(key) as IdempotencyRecord<T> | undefined;
  }
  async settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number) {
    this.records.set(key, record, { ttl: ttlMs });
  }
  async release(key: string, owner: string) {
    const record = this.records.get(key);
    if (record?.state === 'pending' && record.owner === owner) this.records.delete(key);
  }
}

/** Deletes a key only while it still holds the value given: a compare-and-delete. */
const DELETE_IF_UNCHANGED = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** Keys in Redis, over the process's connection: shared by every replica. */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix = 'patchbay:idempotency:',
  ) {}
  async claim<T>(key: string, fingerprint: string, owner: string, ttlMs: number): Promise<IdempotencyRecord<T> | 'claimed'> {
    const won = await this.redis.run((r) => r.set(this.prefix + key, pendingValue(fingerprint, owner), 'PX', ttlMs, 'NX'));
    if (won === 'OK') return 'claimed' as const;
    return (await this.get<T>(key)) ?? this.claim<T>(key, fingerprint, owner, ttlMs);
  }
  async get<T>(key: string) {
    const value = await this.redis.run((r) => r.get(this.prefix + key));
    return value ? (StoredRecord.parse(JSON.parse(value)) as IdempotencyRecord<T>) : undefined;
  }
  async settle<T>(key: string, record: IdempotencyRecord<T>, ttlMs: number) {
    await this.redis.run((r) => r.set(this.prefix + key, JSON.stringify(record), 'PX', ttlMs));
  }
  async release(key: string, owner: string) {
    const fingerprint = (await this.get(key))?.fingerprint;
    if (fingerprint === undefined) return;
    await this.redis.run((r) => r.eval(DELETE_IF_UNCHANGED, 1, this.prefix + key, pendingValue(fingerprint, owner)));
  }
}

/** The stored form of a pending claim; exactly this string is what release compares. */
const pendingValue = (fingerprint: string, owner: string) =>
  JSON.stringify({ state: 'pending', fingerprint, owner } satisfies IdempotencyRecord<never>);

export const createIdempotencyStore = (redis: RedisConnection | undefined): IdempotencyStore =>
  redis ? new RedisIdempotencyStore(redis) : new MemoryIdempotencyStore();

/**
 * Events already applied (webhook deliveries), by id, kept `ttlMs`. Asked before applying and
 * written after: an id is spent only once its effects are stored, so a batch that failed
 * half-way is applied in full when it comes again, and one that repeats known events applies
 * only the new ones.
 */
export function appliedEvents(store: IdempotencyStore, ttlMs: number) {
  const key = (id: string) => `applied:${id}`;
  return {
    /** The ids not applied yet, without repeats, in the order given. */
    async unseen(ids: readonly string[]): Promise<string[]> {
      const unique = [...new Set(ids)];
      const known = await Promise.all(unique.map((id) => store.get(key(id))));
      return unique.filter((_, i) => known[i] === undefined);
    },
    async remember(ids: readonly string[]): Promise<void> {
      await Promise.all(ids.map((id) => store.settle(key(id), { state: 'done', fingerprint: 'applied', result: true }, ttlMs)));
    },
  };
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
  /** Added to the IDEMPOTENT_OUTCOME_UNKNOWN message: where the client can learn what happened. */
  outcomeUnknownHint?: string;
  logger?: Logger;
}

const keyError = (message: string, code: string, retryable: boolean, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code, retryable, ...extensions } });

/** The answer for a key whose first request failed after it may have acted: the same the first time and every time after. */
const outcomeUnknown = (cause: string, hint: string | undefined) =>
  keyError(
    `The request with this idempotency key failed (${cause}) after it may have taken effect; it is not repeated with this key.${hint ? ` ${hint}` : ''}`,
    'IDEMPOTENT_OUTCOME_UNKNOWN',
    false,
    { cause },
  );

/**
 * Runs `work` once per key. The same key again returns the first result; while the first
 * request runs, later ones (from any replica sharing the store) wait for it; a first request
 * that failed after it may have acted (say, a send that timed out after the provider took
 * it) is never run again, and is answered IDEMPOTENT_OUTCOME_UNKNOWN (not retryable) from its
 * first answer on; one that provably did nothing frees the key for a retry.
 */
export async function runOnce<T>(
  store: IdempotencyStore,
  key: string,
  fingerprint: string,
  work: () => Promise<T>,
  options: RunOnceOptions,
): Promise<T> {
  const giveUpAt = Date.now() + options.waitMs;
  const owner = randomUUID();
  for (;;) {
    let claim: IdempotencyRecord<T> | 'claimed';
    try {
      claim = await store.claim<T>(key, fingerprint, owner, options.pendingMs);
    } catch (error) {
      // The claim may have reached the store (a timed-out command still runs): once the
      // store is back it is given back, so the caller's retry does not wait out pendingMs.
      void recordSoon(() => store.release(key, owner), Date.now() + options.pendingMs, options.logger);
      throw error;
    }
    if (claim === 'claimed') break;
    if (claim.fingerprint !== fingerprint) {
      throw keyError(
        'This idempotency key was used for a different request; use a new key for a new request',
        'IDEMPOTENCY_KEY_REUSED',
        false,
      );
    }
    if (claim.state === 'done') return claim.result;
    if (claim.state === 'unknown') throw outcomeUnknown(claim.code, options.outcomeUnknownHint);
    if (Date.now() >= giveUpAt)
      throw keyError('A request with this idempotency key is still running; ask again shortly', 'IDEMPOTENCY_KEY_IN_USE', true);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const claimedAt = Date.now();
  let outcome: { ok: true; result: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, result: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // The work is done (or may be): its answer goes to the caller whatever the store does
  // next. A record the store cannot take now is retried while the claim still holds the key,
  // so a retry of the caller's finds the first result rather than running the work again.
  const record = (settled: IdempotencyRecord<T>) =>
    recordSoon(() => store.settle(key, settled, options.retentionMs), claimedAt + options.pendingMs, options.logger);
  if (outcome.ok) {
    await record({ state: 'done', fingerprint, result: outcome.result });
    return outcome.result;
  }
  if (options.mayHaveActed(outcome.error)) {
    const cause = graphqlCodeOf(outcome.error) ?? 'ERROR';
    await record({ state: 'unknown', fingerprint, code: cause });
    // Told now, not only on the retry: asking again with this key would not send again.
    throw outcomeUnknown(cause, options.outcomeUnknownHint);
  }
  await recordSoon(() => store.release(key, owner), claimedAt + options.pendingMs, options.logger);
  throw outcome.error;
}

/** Writes now, or keeps trying in the background until `until`, logging what could not be kept. */
async function recordSoon(write: () => Promise<void>, until: number, logger: Logger | undefined): Promise<void> {
  try {
    await write();
  } catch (error) {
    logger?.warn({ err: messageOf(error) }, 'idempotency store not reachable; retrying in the background');
    void (async () => {
      for (let waitMs = 250; Date.now() < until; waitMs = Math.min(waitMs * 2, 5000)) {
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
        try {
          return await write();
        } catch {
          // Still away; try again until the claim runs out.
        }
      }
      logger?.error({}, 'idempotency store away for longer than a claim holds: a record was not kept');
    })();
  }
}
