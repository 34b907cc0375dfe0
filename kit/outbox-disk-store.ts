import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetter, OutboxItem, OutboxStore } from './outbox.js';

/**
 * The outbox in a directory: pending.jsonl (every item, appended and fsynced), delivered.jsonl
 * (ids delivered), dead.jsonl (parked items). One process per directory.
 */
export class DiskOutboxStore<T> implements OutboxStore<T> {
  private readonly pendingFile: string;
  private readonly deliveredFile: string;
  private readonly deadFile: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.pendingFile = join(dir, 'pending.jsonl');
    this.deliveredFile = join(dir, 'delivered.jsonl');
    this.deadFile = join(dir, 'dead.jsonl');
  }

  async load() {
    const done = new Set(readLines(this.deliveredFile));
    for (const dead of parseLines<DeadLetter<T>>(this.deadFile)) done.add(dead.id);
    const rest = new Map<string, OutboxItem<T>>();
    for (const item of parseLines<OutboxItem<T>>(this.pendingFile)) if (!done.has(item.id)) rest.set(item.id, item);
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
    return parseLines<DeadLetter<T>>(this.deadFile);
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
    const rest = parseLines<DeadLetter<T>>(this.deadFile).filter((letter) => !unparked.has(letter.id));
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
