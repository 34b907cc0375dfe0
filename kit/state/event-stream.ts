import { GraphQLError } from 'graphql';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { type z } from 'zod';
import type { Logger } from '../process/logger.js';
import type { RedisConnection } from './redis.js';
import { SpanKind, inSpan, traceparentOf } from '../process/tracing.js';

/**
 * A domain's events (docs/DESIGN: one stream for pushes and for freshness): each fact appended
 * once, typed, ordered, shared by every replica through Redis Streams (one process keeps its own
 * without Redis), kept for a bounded length and age. Readers follow it from any id they were
 * given: a subscription that resumes gets what it missed, in order, once; one whose id fell
 * out of the retention is told to resync instead of being handed a silent gap.
 */

/** A Redis stream id, `<ms>-<seq>`: ordered, and the id a client resumes after. */
const STREAM_ID = /^\d{1,16}-\d{1,16}$/;

export interface StoredEvent<Type extends string = string, Data = unknown> {
  id: string;
  type: Type;
  data: Data;
  /** The W3C traceparent of where it was appended: a reader's span continues that trace. */
  trace?: string;
}

/** The events of a domain: a zod schema per event type. */
export type EventTypes = Record<string, z.ZodType>;
export type EventOf<Types extends EventTypes> = {
  [Type in keyof Types & string]: StoredEvent<Type, z.infer<Types[Type]>>;
}[keyof Types & string];

export const RESYNC_REQUIRED = 'RESYNC_REQUIRED';

/** What a reader asked for is older than what is kept (or from another stream): refetch, then follow from now. */
export class ResyncRequiredError extends GraphQLError {
  constructor(after: string) {
    super(`Events after ${after} are no longer kept: refetch what you show, then subscribe without an id`, {
      extensions: { code: RESYNC_REQUIRED, after },
    });
  }
}

export interface EventRetention {
  /** Events kept at most. */
  maxLength: number;
  /** Events older than this are dropped. */
  maxAgeMs: number;
}

/** Compares two stream ids in their order. */
export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs === bMs ? Number(aSeq - bSeq) : aMs < bMs ? -1 : 1;
}

export const isStreamId = (value: string) => STREAM_ID.test(value);

/** Where events are kept: the part that differs between Redis and one process. */
interface EventLog {
  append(type: string, data: unknown, trace: string | undefined): Promise<string>;
  /** Events with an id above `after`, oldest first; throws ResyncRequiredError when some of them are gone. */
  range(after: string, count: number): Promise<Array<StoredEvent>>;
  /** The id of the newest event ('0-0' for none). */
  lastId(): Promise<string>;
  /** Waits (up to `blockMs`) for events above `after`. */
  wait(after: string, blockMs: number): Promise<Array<StoredEvent>>;
  close(): Promise<void>;
}

function memoryLog(retention: EventRetention): EventLog {
  const events: Array<StoredEvent & { at: number }> = [];
  let last = '0-0';
  let maxDeleted = '0-0';
  const waiters = new Set<() => void>();
  const trim = () => {
    const oldest = Date.now() - retention.maxAgeMs;
    while (events.length > retention.maxLength || (events[0] && events[0].at < oldest)) maxDeleted = events.shift()!.id;
  };
  const above = (after: string, count: number) => {
    if (compareIds(after, maxDeleted) < 0 || compareIds(after, last) > 0) throw new ResyncRequiredError(after);
    const from = events.findIndex((event) => compareIds(event.id, after) > 0);
    return from < 0 ? [] : events.slice(from, from + count).map(({ at: _at, ...event }) => event);
  };
  return {
    async append(type, data, trace) {
      const now = Date.now();
      const [ms, seq] = last.split('-').map(Number) as [number, number];
      last = now > ms ? `${now}-0` : `${ms}-${seq + 1}`;
      events.push({ id: last, type, data, at: now, ...(trace ? { trace } : {}) });
      trim();
      for (const wake of waiters) wake();
      return last;
    },
    async range(after, count) {
      trim();
      return above(after, count);
    },
    async lastId() {
      return last;
    },
    async wait(after, blockMs) {
      if (compareIds(after, last) < 0) return above(after, 100);
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, blockMs).unref();
        waiters.add(wake);
      });
      return compareIds(after, last) < 0 ? above(after, 100) : [];
    },
    async close() {
      for (const wake of waiters) wake();
    },
  };
}

/** XINFO STREAM's flat reply as a map of its fields. */
const infoOf = (reply: unknown[]) => {
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) info.set(String(reply[i]), reply[i + 1]);
  return info;
};
type StreamEntries = Array<[string, string[]]>;

function redisLog(redis: RedisConnection, key: string, retention: EventRetention, blockMs: number): EventLog {
  // Blocking reads hold their connection: their own, whose timeout outlasts the block.
  let reader: Redis | undefined;
  const readerClient = () => {
    if (!reader) {
      reader = redis.client.duplicate({ commandTimeout: blockMs + 5_000, maxRetriesPerRequest: 1 });
      // Its failures reach the reads waiting on it; the process's connection logs the outage (once, rate-limited).
      reader.on('error', () => undefined);
    }
    return reader;
  };
  // Fields: type, data[, trace].
  const decode = (entries: StreamEntries): StoredEvent[] =>
    entries.map(([id, fields]) => ({
      id,
      type: fields[1]!,
      data: JSON.parse(fields[3]!) as unknown,
      ...(fields[4] === 'trace' && fields[5] ? { trace: fields[5] } : {}),
    }));
  let trimmedAt = 0;
  /** Where the stream stands: its newest id, and whether events after `after` were trimmed away. */
  const position = async (client: Redis) => {
    let info: Map<string, unknown>;
    try {
      info = infoOf((await client.xinfo('STREAM', key)) as unknown[]);
    } catch {
      return { last: '0-0', lost: () => false }; // no stream yet
    }
    const last = String(info.get('last-generated-id'));
    const trimmed = Number(info.get('entries-added')) > Number(info.get('length'));
    const first = (info.get('first-entry') as [string, string[]] | null)?.[0];
    // Trimming keeps no record of what it dropped: an id older than the oldest kept may have
    // missed some (when it is the very last one dropped, a resync is one refetch too many).
    return { last, lost: (after: string) => trimmed && compareIds(after, first ?? last) < 0 };
  };
  // Thrown outside redis.run, which takes whatever its commands throw for an outage.
  const check = async (after: string) => {
    const { last, lost } = await redis.run(position);
    if (lost(after) || compareIds(after, last) > 0) throw new ResyncRequiredError(after);
  };
  const range = async (after: string, count: number) => {
    await check(after);
    return decode(await redis.run(async (client) => (await client.xrange(key, `(${after}`, '+', 'COUNT', count)) as StreamEntries));
  };
  let closed = false;
  return {
    append: (type, data, trace) =>
      redis.run(async (client) => {
        const fields = ['type', type, 'data', JSON.stringify(data), ...(trace ? ['trace', trace] : [])];
        const id = await client.xadd(key, 'MAXLEN', retention.maxLength, '*', ...fields);
        // Age is trimmed now and then, not on every append: a trim walks the stream's head.
        if (Date.now() - trimmedAt > 10_000) {
          trimmedAt = Date.now();
          await client.xtrim(key, 'MINID', `${Date.now() - retention.maxAgeMs}-0`);
        }
        return id!;
      }),
    range,
    lastId: () => redis.run(async (client) => (await position(client)).last),
    async wait(after, block) {
      if (closed) return [];
      const reply = (await readerClient().xread('COUNT', 100, 'BLOCK', block, 'STREAMS', key, after)) as Array<
        [string, StreamEntries]
      > | null;
      const entries = reply?.[0]?.[1] ?? [];
      // A reply skips silently what was trimmed meanwhile: the position says so.
      if (entries.length) await check(after);
      return decode(entries);
    },
    async close() {
      closed = true;
      reader?.disconnect();
    },
  };
}

/** What a process's event streams report, by stream: made once per registry, shared by its streams. */
export function createEventStreamMetrics(registry: Registry) {
  const followed = new Map<string, () => number>();
  return {
    followers: new Gauge({
      name: 'patchbay_event_stream_followers',
      help: 'Readers following an event stream in this process (open subscriptions), by stream',
      labelNames: ['stream'],
      registers: [registry],
      collect() {
        for (const [stream, count] of followed) this.set({ stream }, count());
      },
    }),
    events: new Counter({
      name: 'patchbay_event_stream_events_total',
      help: 'Events by stream and outcome: appended; delivered (to one reader); resync (a reader asked for what is no longer kept); slow_consumer (a reader ended for falling behind)',
      labelNames: ['stream', 'outcome'],
      registers: [registry],
    }),
    resumes: new Counter({
      name: 'patchbay_event_stream_resumes_total',
      help: 'Readers that followed a stream from an event id they had (a client resuming after a reconnect), by stream',
      labelNames: ['stream'],
      registers: [registry],
    }),
    lag: new Histogram({
      name: 'patchbay_event_stream_lag_seconds',
      help: 'From an event appended to it handed to a live reader, by stream',
      labelNames: ['stream'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    follow(stream: string, count: () => number) {
      followed.set(stream, count);
    },
  };
}
export type EventStreamMetrics = ReturnType<typeof createEventStreamMetrics>;

export interface EventStreamOptions<Types extends EventTypes> {
  /** The stream's name: `patchbay:events:<name>` in Redis. */
  name: string;
  types: Types;
  retention: EventRetention;
  redis?: RedisConnection;
  logger: Logger;
  /** How long one blocking read waits before it asks again. */
  blockMs?: number;
  /** A follower that falls this many events behind is ended (SLOW_CONSUMER): it resumes from its last id. */
  followerBuffer?: number;
  /**
   * What each event is about (`user:<id>`, `send:<id>`): a follower of a topic is handed only
   * that topic's events, so an event costs the followers it is for, not every follower.
   */
  topicsOf?: (event: EventOf<Types>) => readonly string[];
  metrics?: EventStreamMetrics;
}

export const SLOW_CONSUMER = 'SLOW_CONSUMER';

/** A follower that did not keep up: its buffer was full. It resumes after the last id it got. */
export class SlowConsumerError extends GraphQLError {
  constructor(lastId: string | undefined) {
    super('This subscription fell too far behind and was ended: subscribe again after the last event id you received', {
      extensions: { code: SLOW_CONSUMER, ...(lastId ? { lastEventId: lastId } : {}) },
    });
  }
}

export interface EventStream<Types extends EventTypes> {
  readonly name: string;
  /** Appends one event, validated against its type; returns its id. */
  append<Type extends keyof Types & string>(type: Type, data: z.infer<Types[Type]>): Promise<string>;
  /**
   * Every event after `after` (now, when absent), then each new one as any replica appends it,
   * in order, each once, until `signal` aborts; of one `topic` only, when given (topicsOf).
   * Throws ResyncRequiredError when `after` is older than what is kept, SlowConsumerError when
   * the reader falls `followerBuffer` events behind.
   */
  follow(
    after: string | undefined,
    signal: AbortSignal,
    topic?: string,
    reader?: 'subscription' | 'internal',
  ): AsyncGenerator<EventOf<Types>>;
  close(): Promise<void>;
}

export function createEventStream<Types extends EventTypes>(options: EventStreamOptions<Types>): EventStream<Types> {
  const blockMs = options.blockMs ?? 5_000;
  const capacity = options.followerBuffer ?? 1_000;
  const log = options.redis
    ? redisLog(options.redis, `patchbay:events:${options.name}`, options.retention, blockMs)
    : memoryLog(options.retention);
  const parse = (event: StoredEvent): EventOf<Types> | undefined => {
    const schema = options.types[event.type];
    const data = schema?.safeParse(event.data);
    if (data?.success) return { ...event, data: data.data } as EventOf<Types>;
    options.logger.warn({ stream: options.name, id: event.id, type: event.type }, 'an event of an unknown type or shape is skipped');
    return undefined;
  };

  const topicsOf = options.topicsOf ?? (() => []);
  const inTopic = (event: EventOf<Types>, topic: string | undefined) => topic === undefined || topicsOf(event).includes(topic);

  /**
   * Followers of this process, fed by one tail of the stream: one blocking read, whatever their
   * number, each event parsed once and handed to the followers of all events and of its topics.
   */
  type Follower = { push(event: EventOf<Types> | 'gap'): void; wake(): void };
  const allFollowers = () => [...everything, ...[...byTopic.values()].flatMap((set) => [...set])];
  const everything = new Set<Follower>();
  const byTopic = new Map<string, Set<Follower>>();
  let followerCount = 0;
  // What the followers gauge counts: subscriptions, not the process's own readers (a cache keeper).
  let subscriptionCount = 0;
  const addFollower = (follower: Follower, topic: string | undefined) => {
    followerCount++;
    if (topic === undefined) return void everything.add(follower);
    const set = byTopic.get(topic) ?? new Set<Follower>();
    byTopic.set(topic, set.add(follower));
  };
  const removeFollower = (follower: Follower, topic: string | undefined) => {
    followerCount--;
    if (topic === undefined) return void everything.delete(follower);
    const set = byTopic.get(topic);
    set?.delete(follower);
    if (set?.size === 0) byTopic.delete(topic);
  };
  const dispatch = (event: EventOf<Types>) => {
    for (const follower of everything) follower.push(event);
    for (const topic of topicsOf(event)) for (const follower of byTopic.get(topic) ?? []) follower.push(event);
  };
  const stream = options.name;
  options.metrics?.follow(stream, () => subscriptionCount);
  // Bound once: a label lookup per delivery would cost more than the delivery.
  const counters = options.metrics
    ? Object.fromEntries(
        (['appended', 'delivered', 'resync', 'slow_consumer'] as const).map((outcome) => [
          outcome,
          options.metrics!.events.labels({ stream, outcome }),
        ]),
      )
    : undefined;
  const lag = options.metrics?.lag.labels({ stream });
  const resumes = options.metrics?.resumes.labels({ stream });
  const count = (outcome: 'appended' | 'delivered' | 'resync' | 'slow_consumer') => counters?.[outcome]!.inc();
  /** Handed to a reader live: how long after it was appended (the id's milliseconds). */
  const delivered = (event: StoredEvent) => {
    count('delivered');
    lag?.observe(Math.max(0, Date.now() - Number(event.id.split('-')[0])) / 1000);
  };
  let tail: Promise<void> | undefined;
  let closed = false;
  const runTail = async () => {
    let after = await log.lastId().catch(() => '0-0');
    while (!closed && followerCount > 0) {
      try {
        const events = await log.wait(after, blockMs);
        if (events.length === 0) continue;
        after = events.at(-1)!.id;
        for (const event of events) {
          const parsed = parse(event);
          if (parsed) dispatch(parsed);
        }
      } catch (error) {
        if (error instanceof ResyncRequiredError) {
          // The tail itself fell behind the retention: each follower resyncs.
          after = await log.lastId().catch(() => after);
          for (const follower of allFollowers()) follower.push('gap');
          continue;
        }
        if (closed) return;
        options.logger.warn({ stream: options.name, err: (error as Error).message }, 'event stream read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  };
  const ensureTail = () => {
    tail ??= runTail().finally(() => {
      tail = undefined;
      if (!closed && followerCount > 0) ensureTail();
    });
  };

  return {
    name: stream,
    async append(type, data) {
      const schema = options.types[type];
      if (!schema) throw new Error(`${options.name}: no event type ${type}`);
      const parsed = schema.parse(data);
      return inSpan(
        `event.append ${stream}`,
        { kind: SpanKind.PRODUCER, attributes: { 'patchbay.stream': stream, 'patchbay.event.type': type } },
        async (span) => {
          const id = await log.append(type, parsed, traceparentOf(span));
          span.setAttribute('patchbay.event.id', id);
          count('appended');
          return id;
        },
      );
    },
    async *follow(after, signal, topic, reader = 'subscription') {
      if (after !== undefined && !isStreamId(after)) {
        count('resync');
        throw new ResyncRequiredError(after);
      }
      if (after !== undefined) resumes?.inc();
      const pending: Array<EventOf<Types>> = [];
      let overflowed = false;
      let gap = false;
      let wake: (() => void) | undefined;
      const follower: Follower = {
        push(event) {
          if (event === 'gap') gap = true;
          else if (pending.length >= capacity) overflowed = true;
          else pending.push(event);
          wake?.();
        },
        wake: () => wake?.(),
      };
      const onAbort = () => wake?.();
      signal.addEventListener('abort', onAbort);
      // Live first, then what came before: nothing between the two is missed, and ids dedupe.
      addFollower(follower, topic);
      if (reader === 'subscription') subscriptionCount++;
      ensureTail();
      let last = after ?? (await log.lastId());
      try {
        for (let page = await log.range(last, 100); page.length; page = await log.range(last, 100)) {
          for (const event of page) {
            last = event.id;
            const parsed = parse(event);
            if (!parsed || !inTopic(parsed, topic)) continue;
            count('delivered');
            yield parsed;
            if (signal.aborted) return;
          }
        }
        while (!signal.aborted && !closed) {
          if (overflowed) {
            count('slow_consumer');
            throw new SlowConsumerError(last);
          }
          if (gap) throw new ResyncRequiredError(last);
          const next = pending.shift();
          if (!next) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          if (compareIds(next.id, last) <= 0) continue;
          last = next.id;
          delivered(next);
          yield next;
        }
      } catch (error) {
        if (error instanceof ResyncRequiredError) count('resync');
        throw error;
      } finally {
        removeFollower(follower, topic);
        if (reader === 'subscription') subscriptionCount--;
        signal.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      closed = true;
      for (const follower of allFollowers()) follower.wake();
      await log.close();
      await tail;
    },
  };
}
