import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.js';

/** An event waiting for delivery, under the id the provider deduplicates on. */
export interface OutboxItem<T> {
  id: string;
  payload: T;
}

export interface DeadLetter<T> extends OutboxItem<T> {
  reason: string;
  at: string;
}

/** What the deliverer is told by a delivery attempt. */
export type DeliveryOutcome = 'delivered' | 'retry-later' | 'rejected';

export interface OutboxOptions<T> {
  /** Directory of the outbox files; one outbox per directory. */
  dir: string;
  /** Sends one batch; says whether it arrived, may arrive later, or is refused as invalid. */
  deliver(items: ReadonlyArray<OutboxItem<T>>): Promise<DeliveryOutcome>;
  /** Items per delivery call. */
  batchSize: number;
  logger?: Logger;
  /** Waits between attempts while the provider is away: doubling from min to max. */
  backoff?: { minMs: number; maxMs: number };
}

/**
 * A durable outbox on disk: `append` returns once the items are on disk (fsync), so an
 * acknowledged event survives a crash; a background deliverer sends queued items in
 * batches, retries through outages with backoff, parks what the provider refuses as invalid
 * in a dead-letter file (listable, replayable), and on start delivers what a previous
 * process left. Files: pending.jsonl (every item appended), delivered.jsonl (ids delivered),
 * dead.jsonl (parked items).
 */
export class DiskOutbox<T> {
  private readonly queue = new Map<string, T>();
  private readonly pendingFile: string;
  private readonly deliveredFile: string;
  private readonly deadFile: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private waitMs = 0;
  private closed = false;

  constructor(private readonly options: OutboxOptions<T>) {
    mkdirSync(options.dir, { recursive: true });
    this.pendingFile = join(options.dir, 'pending.jsonl');
    this.deliveredFile = join(options.dir, 'delivered.jsonl');
    this.deadFile = join(options.dir, 'dead.jsonl');
    this.recover();
  }

  /** Items not yet delivered nor parked. */
  get size(): number {
    return this.queue.size;
  }

  /** Durably queues the items (an id already queued is kept once); delivery follows. */
  append(items: ReadonlyArray<OutboxItem<T>>): void {
    if (this.closed) throw new Error('outbox is closed');
    const fresh = items.filter((item) => !this.queue.has(item.id));
    if (fresh.length) {
      this.writeDurably(this.pendingFile, fresh.map((item) => JSON.stringify(item)));
      for (const item of fresh) this.queue.set(item.id, item.payload);
    }
    this.schedule(0);
  }

  deadLetters(): Array<DeadLetter<T>> {
    return parseLines<DeadLetter<T>>(this.deadFile);
  }

  /** Puts every parked item back in the queue (after the cause was fixed), and empties the dead letters. */
  replayDeadLetters(): number {
    const parked = this.deadLetters();
    this.append(parked.map(({ id, payload }) => ({ id, payload })));
    writeFileSync(this.deadFile, '');
    return parked.length;
  }

  /** Stops taking items and tries to deliver what is queued within `timeoutMs`; what remains stays on disk. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const until = Date.now() + timeoutMs;
    while (this.queue.size > 0 && Date.now() < until) {
      await (this.running ?? this.deliverOnce());
      if (this.queue.size > 0 && this.waitMs > 0) await sleep(Math.min(this.waitMs, until - Date.now()));
    }
    await this.running;
  }

  private recover(): void {
    const delivered = new Set(readLines(this.deliveredFile));
    for (const dead of parseLines<DeadLetter<T>>(this.deadFile)) delivered.add(dead.id);
    for (const item of parseLines<OutboxItem<T>>(this.pendingFile)) {
      if (!delivered.has(item.id)) this.queue.set(item.id, item.payload);
    }
    // Compact: keep only what is still to deliver.
    const rest = [...this.queue].map(([id, payload]) => JSON.stringify({ id, payload }));
    const tmp = `${this.pendingFile}.tmp`;
    writeFileSync(tmp, rest.length ? `${rest.join('\n')}\n` : '');
    renameSync(tmp, this.pendingFile);
    writeFileSync(this.deliveredFile, '');
    if (this.queue.size) {
      this.options.logger?.info({ queued: this.queue.size }, 'outbox: delivering what a previous process left');
      this.schedule(0);
    }
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
    this.running ??= this.deliverBatch().finally(() => {
      this.running = undefined;
      if (this.queue.size) this.schedule(this.waitMs);
    });
    return this.running;
  }

  private async deliverBatch(): Promise<void> {
    const batch = [...this.queue].slice(0, this.options.batchSize).map(([id, payload]) => ({ id, payload }));
    if (!batch.length) return;
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.options.deliver(batch);
    } catch (error) {
      this.options.logger?.warn({ err: (error as Error).message }, 'outbox: delivery failed unexpectedly; retrying later');
      outcome = 'retry-later';
    }
    if (outcome === 'delivered') {
      this.writeDurably(this.deliveredFile, batch.map((item) => item.id));
      for (const item of batch) this.queue.delete(item.id);
      this.waitMs = 0;
    } else if (outcome === 'rejected' && batch.length === 1) {
      const at = new Date().toISOString();
      this.writeDurably(this.deadFile, batch.map((item) => JSON.stringify({ ...item, reason: 'rejected by the provider as invalid', at })));
      this.queue.delete(batch[0]!.id);
      this.options.logger?.warn({ id: batch[0]!.id }, 'outbox: event parked as a dead letter');
    } else if (outcome === 'rejected') {
      // One bad event refuses its whole batch: find it by sending the batch one event at a time.
      for (const item of batch) {
        const single = await this.options.deliver([item]).catch((): DeliveryOutcome => 'retry-later');
        if (single === 'delivered') {
          this.writeDurably(this.deliveredFile, [item.id]);
          this.queue.delete(item.id);
        } else if (single === 'rejected') {
          this.writeDurably(this.deadFile, [JSON.stringify({ ...item, reason: 'rejected by the provider as invalid', at: new Date().toISOString() })]);
          this.queue.delete(item.id);
        } else {
          break;
        }
      }
    } else {
      const { minMs, maxMs } = this.options.backoff ?? { minMs: 500, maxMs: 30_000 };
      this.waitMs = Math.min(maxMs, Math.max(minMs, this.waitMs * 2));
    }
  }

  private writeDurably(file: string, lines: string[]): void {
    const fd = openSync(file, 'a');
    try {
      writeSync(fd, `${lines.join('\n')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/**
 * The records of a file. A line cut short by a crash mid-write was never acknowledged (the
 * write had not returned), so it is dropped.
 */
function parseLines<R>(file: string): R[] {
  return readLines(file).flatMap((line) => {
    try {
      return [JSON.parse(line) as R];
    } catch {
      return [];
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
