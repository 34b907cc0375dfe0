import { createHash } from 'node:crypto';
import type { SeedFile } from './seed.js';

export interface StoredObject {
  key: string;
  size: number;
  contentType: string;
  lastModified: Date;
  etag: string;
  /** Absent for seeded objects, whose bytes are generated from the key on read. */
  body?: Buffer;
  metadata: Record<string, string>;
}

/** One page of ListObjectsV2: keys after `after` under `prefix`, rolled up at `delimiter`. */
export interface ListQuery {
  prefix: string;
  delimiter: string;
  after: string;
  limit: number;
}

export interface ListPage {
  objects: StoredObject[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned: where the next page starts. */
  last: string;
}

/** Lower bound in a sorted array of keys. */
function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Past every key that starts with a prefix. */
const AFTER_ALL = '\u{10FFFF}';

/**
 * One bucket's objects, kept in key order as S3 lists them. Seeded objects have no bytes
 * stored: theirs are generated from the key, the same on every read.
 */
export class Bucket {
  private readonly objects = new Map<string, StoredObject>();
  private readonly keys: string[] = [];

  constructor(
    readonly name: string,
    seeded: readonly SeedFile[],
  ) {
    for (const file of seeded) {
      this.objects.set(file.key, {
        key: file.key,
        size: file.size,
        contentType: file.contentType,
        lastModified: file.lastModified,
        etag: `"${createHash('md5').update(`${file.key}:${file.size}`).digest('hex')}-1"`,
        metadata: {},
      });
    }
    this.keys.push(...[...this.objects.keys()].sort());
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  put(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.keys.splice(lowerBound(this.keys, object.key), 0, object.key);
    this.objects.set(object.key, object);
  }

  remove(key: string): void {
    if (this.objects.delete(key)) this.keys.splice(lowerBound(this.keys, key), 1);
  }

  bytesOf(object: StoredObject): Buffer {
    if (object.body) return object.body;
    const block = createHash('sha256').update(object.key).digest();
    const bytes = Buffer.allocUnsafe(object.size);
    for (let i = 0; i < object.size; i += block.length) block.copy(bytes, i, 0, Math.min(block.length, object.size - i));
    return bytes;
  }

  list({ prefix, delimiter, after, limit }: ListQuery): ListPage {
    const page: ListPage = { objects: [], commonPrefixes: [], truncated: false, last: '' };
    let index = lowerBound(this.keys, prefix > after ? prefix : after);
    if (this.keys[index] === after) index++;
    while (index < this.keys.length) {
      const key = this.keys[index]!;
      if (!key.startsWith(prefix)) break;
      if (page.objects.length + page.commonPrefixes.length >= limit) {
        page.truncated = true;
        break;
      }
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const common = prefix + rest.slice(0, cut + delimiter.length);
        page.commonPrefixes.push(common);
        page.last = common;
        index = lowerBound(this.keys, common + AFTER_ALL);
        continue;
      }
      page.objects.push(this.objects.get(key)!);
      page.last = key;
      index++;
    }
    return page;
  }
}
