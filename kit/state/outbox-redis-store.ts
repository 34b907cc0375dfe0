import type { z } from 'zod';
import { storedRecords, type DeadLetter, type OutboxItem, type OutboxStore } from './outbox.js';
import type { RedisConnection } from './redis.js';

/**
 * The outbox in Redis, shared by replicas: a hash of pending items (id -> item) and a hash of
 * dead letters. Durable as far as the Redis server is (AOF). A replica that starts takes
 * over whatever is pending, its own or a crashed replica's. The connection is the process's.
 */
export class RedisOutboxStore<T> implements OutboxStore<T> {
  private readonly pendingKey: string;
  private readonly deadKey: string;
  private readonly records: ReturnType<typeof storedRecords<T>>;

  constructor(
    private readonly redis: RedisConnection,
    name: string,
    payload: z.ZodType<T>,
  ) {
    this.records = storedRecords(payload);
    this.pendingKey = `patchbay:outbox:${name}:pending`;
    this.deadKey = `patchbay:outbox:${name}:dead`;
  }

  async load() {
    const stored = await this.redis.run((r) => r.hgetall(this.pendingKey));
    return Object.values(stored).map((value) => this.records.item.parse(JSON.parse(value)));
  }
  async add(items: ReadonlyArray<OutboxItem<T>>) {
    await this.redis.run((r) => r.hset(this.pendingKey, Object.fromEntries(items.map((item) => [item.id, JSON.stringify(item)]))));
  }
  async delivered(ids: readonly string[]) {
    if (ids.length) await this.redis.run((r) => r.hdel(this.pendingKey, ...ids));
  }
  async park(letters: ReadonlyArray<DeadLetter<T>>) {
    await this.redis.run((r) =>
      r
        .multi()
        .hset(this.deadKey, Object.fromEntries(letters.map((letter) => [letter.id, JSON.stringify(letter)])))
        .hdel(this.pendingKey, ...letters.map((letter) => letter.id))
        .exec(),
    );
  }
  async deadLetters() {
    const stored = await this.redis.run((r) => r.hgetall(this.deadKey));
    return Object.values(stored).map((value) => this.records.deadLetter.parse(JSON.parse(value)));
  }
  async deadLetterCount() {
    return this.redis.run((r) => r.hlen(this.deadKey));
  }
  async unpark(letters: ReadonlyArray<DeadLetter<T>>) {
    await this.redis.run((r) =>
      r
        .multi()
        .hset(this.pendingKey, Object.fromEntries(letters.map(({ id, payload }) => [id, JSON.stringify({ id, payload })])))
        .hdel(this.deadKey, ...letters.map((letter) => letter.id))
        .exec(),
    );
  }
  async close() {}
}
