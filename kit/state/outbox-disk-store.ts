import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { storedRecords, type OutboxItem, type OutboxStore, type DeadLetter } from './outbox.js';

/**
 * The outbox in a directory: pending.jsonl (every item, appended and fsynced), delivered.jsonl
 * (ids delivered), dead.jsonl (parked items). One process per directory.
 */
export class DiskOutboxStore<T> implements OutboxStore<T> {
  private readonly pendingFile: string;
  private readonly deliveredFile: string;
  private readonly deadFile: string;
  private readonly records: ReturnType<typeof storedRecords<T>>;

  constructor(dir: string, payload: z.ZodType<T>) {
    this.records = storedRecords(payload);
    mkdirSync(dir, { recursive: true });
    this.pendingFile = join(dir, 'pending.jsonl');
    this.deliveredFile = join(dir, 'delivered.jsonl');
    this.deadFile = join(dir, 'dead.jsonl');
  }

  async load() {
    const done = new Set(readLines(this.deliveredFile));
    for (const dead of parseLines(this.deadFile, this.records.deadLetter)) done.add(dead.id);
    const rest = new Map<string, OutboxItem<T>>();
    for (const item of parseLines(this.pendingFile, this.records.item)) if (!done.has(item.id)) rest.set(item.id, item);
    // Compact: keep only what is still to deliver.
    const tmp = `${this.pendingFile}.tmp`;
    writeFileSync(tmp, [...rest.values()].map((item) => `${JSON.stringify(item)}\n`).join(''));
    renameSync(tmp, this.pendingFile);
    writeFileSync(this.deliveredFile, '');
    return [...rest.values()];
  }
  async add(items: ReadonlyArray<OutboxItem<T>>) {
    appendDurably(
      this.pendingFile,
      items.map((item) => JSON.stringify(item)),
    );
  }
  async delivered(ids: readonly string[]) {
    appendDurably(this.deliveredFile, [...ids]);
  }
  async park(letters: ReadonlyArray<DeadLetter<T>>) {
    appendDurably(
      this.deadFile,
      letters.map((letter) => JSON.stringify(letter)),
    );
  }
  async deadLetters() {
    return parseLines(this.deadFile, this.records.deadLetter);
  }
  async deadLetterCount() {
    return readLines(this.deadFile).length;
  }
  async unpark(letters: ReadonlyArray<DeadLetter<T>>) {
    appendDurably(
      this.pendingFile,
      letters.map(({ id, payload }) => JSON.stringify({ id, payload })),
    );
    const unparked = new Set(letters.map((letter) => letter.id));
    const rest = parseLines(this.deadFile, this.records.deadLetter).filter((letter) => !unparked.has(letter.id));
    const tmp = `${this.deadFile}.tmp`;
    writeFileSync(tmp, rest.map((letter) => `${JSON.stringify(letter)}\n`).join(''));
    renameSync(tmp, this.deadFile);
  }
  async close() {}
}

function appendDurably(file: string, lines: string[]): void {
  if (!lines.length) return;
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
 * write had not returned), so it is dropped; a whole line that is not a record is an error.
 */
function parseLines<R>(file: string, record: z.ZodType<R>): R[] {
  return readLines(file).flatMap((line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return [];
    }
    return [record.parse(value)];
  });
}
