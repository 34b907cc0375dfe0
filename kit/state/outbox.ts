import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../process/logger.js';
import { outboxMetrics, type OutboxMetrics } from './outbox-metrics.js';
import { messageOf } from '../process/caught.js';

/** An event waiting for delivery, under the id the provider deduplicates on. */
export interface OutboxItem<T> {
  id: string;
  payload: T;
}

export interface DeadLetter<T> extends OutboxItem<T> {
  reason: string;
  at: string;
}

/** How a store reads back what it wrote: every record parsed, its payload by the outbox's own schema. */
export const storedRecords = <T>(payload: z.ZodType<T>) => {
  const item = z.object({ id: z.string().min(1), payload });
  return { item, deadLetter: item.extend({ reason: z.string(), at: z.string() }) };
};

/** What the deliverer is told by a delivery attempt. */
export type DeliveryOutcome = 'delivered' | 'retry-later' | 'rejected';

/** Where an outbox keeps its items durably: a directory (outbox-disk-store.ts), or Redis (outbox-redis-store.ts). */
export interface OutboxStore<T> {
  /** Items still to deliver, left by this or an earlier process. */
  load(): Promise<Array<OutboxItem<T>>>;
  /** Returns once the items are durable. */
  add(items: ReadonlyArray<OutboxItem<T>>): Promise<void>;
  delivered(ids: readonly string[]): Promise<void>;
  park(letters: ReadonlyArray<DeadLetter<T>>): Promise<void>;
  deadLetters(): Promise<Array<DeadLetter<T>>>;
  /** How many are parked, without reading them. */
  deadLetterCount(): Promise<number>;
  /** Moves parked items back to pending, in one step: a crash halfway leaves them parked. */
  unpark(letters: ReadonlyArray<DeadLetter<T>>): Promise<void>;
  close(): Promise<void>;
}

export interface OutboxOptions<T> {
  /** Names the outbox in metrics and logs. */
  name: string;
  store: OutboxStore<T>;
  /** Where its backlog, dead letters and deliveries are reported. */
  registry?: Registry;
  /** Sends one batch; says whether it arrived, may arrive later, or is refused as invalid. */
  deliver(items: ReadonlyArray<OutboxItem<T>>): Promise<DeliveryOutcome>;
  /** Items per delivery call. */
  batchSize: number;
  logger?: Logger;
  /** Waits between attempts while the provider is away: doubling from min to max. */
  backoff?: { minMs: number; maxMs: number };
  /**
   * For a store several replicas share: how often to look for items a replica that died left
   * behind, and take them over (a live replica's items may then go twice: the provider's dedup
   * id makes that harmless).
   */
  rescanMs?: number;
}

const REJECTED = 'rejected by the provider as invalid';

/**
 * A durable outbox: `append` returns once the items are stored durably, so an acknowledged
 * event survives a crash; a background deliverer sends queued items in batches, retries
 * through outages with backoff, parks what the provider refuses as invalid as dead letters
 * (listable, replayable), and on start delivers what an earlier process left. Delivery is
 * at least once: the provider's dedup id makes a repeat harmless.
 */
export class Outbox<T> {
  private readonly queue = new Map<string, T>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private waitMs = 0;
  private closed = false;

  /**
   * Settles once what an earlier process left is in the queue. Loading is retried while the
   * store is away (Redis down at start); appends do not wait for it, they go to the store.
   */
  readonly ready: Promise<void>;

  private rescan: NodeJS.Timeout | undefined;
  private readonly metrics: OutboxMetrics | undefined;

  constructor(private readonly options: OutboxOptions<T>) {
    if (options.registry) this.metrics = outboxMetrics(options.registry, options.name, this);
    this.ready = this.loadLeftovers();
    if (options.rescanMs) {
      this.rescan = setInterval(() => void this.takeOver(), options.rescanMs);
      this.rescan.unref();
    }
  }

  /** Queues what the store holds and this process does not: what a replica that died left. */
  private async takeOver(): Promise<void> {
    if (this.closed) return;
    try {
      const left = (await this.options.store.load()).filter((item) => !this.queue.has(item.id));
      for (const item of left) this.queue.set(item.id, item.payload);
      if (left.length) {
        this.options.logger?.info({ queued: left.length }, 'outbox: taking over what another replica left');
        this.schedule(0);
      }
    } catch {
      // The store is away: the next rescan looks again.
    }
  }

  /** Items not yet delivered nor parked. */
  get size(): number {
    return this.queue.size;
  }

  /** Durably queues the items (an id already queued is kept once); delivery follows. */
  async append(items: ReadonlyArray<OutboxItem<T>>): Promise<void> {
    if (this.closed) throw new Error('outbox is closed');
    const fresh = items.filter((item) => !this.queue.has(item.id));
    if (fresh.length) {
      await this.options.store.add(fresh);
      for (const item of fresh) this.queue.set(item.id, item.payload);
    }
    this.schedule(0);
  }

  deadLetters(): Promise<Array<DeadLetter<T>>> {
    return this.options.store.deadLetters();
  }

  deadLetterCount(): Promise<number> {
    return this.options.store.deadLetterCount();
  }

  /** Puts every parked item back in the queue (after the cause was fixed); returns how many. */
  async replayDeadLetters(): Promise<number> {
    if (this.closed) throw new Error('outbox is closed');
    const parked = await this.options.store.deadLetters();
    if (!parked.length) return 0;
    await this.options.store.unpark(parked);
    for (const { id, payload } of parked) this.queue.set(id, payload);
    this.schedule(0);
    return parked.length;
  }

  /** Stops taking items and delivers what is queued within `timeoutMs`; what remains stays stored. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.rescan);
    await this.ready;
    const until = Date.now() + timeoutMs;
    while (this.queue.size > 0 && Date.now() < until) {
      await (this.running ?? this.deliverOnce());
      if (this.queue.size > 0 && this.waitMs > 0) await sleep(Math.min(this.waitMs, until - Date.now()));
    }
    await this.running;
    await this.options.store.close();
  }

  private async loadLeftovers(): Promise<void> {
    const { minMs, maxMs } = this.backoffBounds();
    for (let waitMs = minMs; !this.closed; waitMs = Math.min(maxMs, waitMs * 2)) {
      try {
        const items = await this.options.store.load();
        for (const item of items) if (!this.queue.has(item.id)) this.queue.set(item.id, item.payload);
        if (items.length) {
          this.options.logger?.info({ queued: items.length }, 'outbox: delivering what an earlier process left');
          this.schedule(0);
        }
        return;
      } catch (error) {
        this.options.logger?.warn({ err: messageOf(error), retryInMs: waitMs }, 'outbox: could not load what is stored; retrying');
        await sleep(waitMs);
      }
    }
  }

  private backoffBounds() {
    return this.options.backoff ?? { minMs: 500, maxMs: 30_000 };
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliverOnce();
    }, delayMs);
    this.timer.unref();
  }

  private deliverOnce(): Promise<void> {
    this.running ??= this.deliverBatch()
      .catch((error: unknown) => {
        // The store itself failed (Redis away): keep the items, try again later.
        this.options.logger?.warn({ err: messageOf(error) }, 'outbox: could not record a delivery; retrying later');
        this.backOff();
      })
      .finally(() => {
        this.running = undefined;
        if (this.queue.size) this.schedule(this.waitMs);
      });
    return this.running;
  }

  private failedAttempt(): void {
    this.metrics?.failedAttempts.inc({ outbox: this.options.name });
    this.backOff();
  }

  private backOff(): void {
    const { minMs, maxMs } = this.backoffBounds();
    this.waitMs = Math.min(maxMs, Math.max(minMs, this.waitMs * 2));
  }

  private async send(items: ReadonlyArray<OutboxItem<T>>): Promise<DeliveryOutcome> {
    try {
      return await this.options.deliver(items);
    } catch (error) {
      this.options.logger?.warn({ err: messageOf(error) }, 'outbox: delivery failed unexpectedly; retrying later');
      return 'retry-later';
    }
  }

  private async settle(items: ReadonlyArray<OutboxItem<T>>, outcome: 'delivered' | 'rejected'): Promise<void> {
    this.metrics?.items.inc({ outbox: this.options.name, outcome: outcome === 'delivered' ? 'delivered' : 'parked' }, items.length);
    if (outcome === 'delivered') await this.options.store.delivered(items.map((item) => item.id));
    else {
      const at = new Date().toISOString();
      await this.options.store.park(items.map((item) => ({ ...item, reason: REJECTED, at })));
      this.options.logger?.warn({ ids: items.map((item) => item.id) }, 'outbox: parked as dead letters');
    }
    for (const item of items) this.queue.delete(item.id);
  }

  private async deliverBatch(): Promise<void> {
    // The oldest items first, without copying a queue that an outage may have made long.
    const batch: Array<OutboxItem<T>> = [];
    for (const [id, payload] of this.queue) {
      if (batch.length === this.options.batchSize) break;
      batch.push({ id, payload });
    }
    if (!batch.length) return;
    const outcome = await this.send(batch);
    if (outcome === 'retry-later') return this.failedAttempt();
    this.waitMs = 0;
    if (outcome === 'delivered' || batch.length === 1) return this.settle(batch, outcome);
    // One bad event refuses its whole batch: find it by sending the batch one event at a time.
    for (const item of batch) {
      const single = await this.send([item]);
      if (single === 'retry-later') return this.failedAttempt();
      await this.settle([item], single);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
