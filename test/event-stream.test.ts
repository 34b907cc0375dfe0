/**
 * The event stream (kit/state/event-stream.ts), in one process and through a real Redis shared
 * by two "replicas": followers get every event after the id they give, in order, once, live
 * and replayed alike; an id older than what is kept is told to resync; a follower that does
 * not keep up is ended with the id to resume from; an event of an unknown type is refused; what
 * a stream reports (appended, delivered, resyncs, followers, lag) is counted.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { createLogger } from '../kit/process/logger.js';
import {
  createEventStream,
  createEventStreamMetrics,
  RESYNC_REQUIRED,
  SLOW_CONSUMER,
  type EventStream,
} from '../kit/state/event-stream.js';
import { createRegistry } from '../kit/process/metrics.js';
import { connectRedis, type RedisConnection } from '../kit/state/redis.js';
import { HAS_REDIS, startRedis, until, type TestRedis } from './helpers.js';

const TYPES = { Counted: z.object({ n: z.number().int() }) };
const logger = createLogger('test', 'silent');

let redis: TestRedis | undefined;
const connections: RedisConnection[] = [];
const streams: Array<EventStream<typeof TYPES>> = [];
beforeAll(async () => {
  if (HAS_REDIS) redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(streams.map((stream) => stream.close()));
  await Promise.all(connections.map((connection) => connection.close()));
  redis?.process.kill();
});

let names = 0;
type Store = 'memory' | 'redis';
/** Two replicas of one stream: the same in one process, two connections to one Redis. */
function replicas(store: Store, options: { maxLength?: number; followerBuffer?: number } = {}) {
  const name = `test-${++names}`;
  const make = () => {
    const connection = store === 'redis' ? connectRedis(redis!.url, { commandTimeoutMs: 1000, logger }) : undefined;
    if (connection) connections.push(connection);
    const stream = createEventStream({
      name,
      types: TYPES,
      retention: { maxLength: options.maxLength ?? 1000, maxAgeMs: 60_000 },
      logger,
      blockMs: 200,
      ...(connection ? { redis: connection } : {}),
      ...(options.followerBuffer ? { followerBuffer: options.followerBuffer } : {}),
      // Even and odd numbers: what a topic follower is handed.
      topicsOf: (event) => [event.data.n % 2 ? 'odd' : 'even'],
    });
    streams.push(stream);
    return stream;
  };
  if (store === 'memory') {
    const one = make();
    return [one, one] as const;
  }
  return [make(), make()] as const;
}

/** Follows `stream` from `after`, collecting what it yields until stopped or ended by an error. */
function collect(stream: EventStream<typeof TYPES>, after?: string, topic?: string) {
  const controller = new AbortController();
  const seen: Array<{ id: string; n: number }> = [];
  let error: (Error & { extensions?: Record<string, unknown> }) | undefined;
  const iterator = stream.follow(after, controller.signal, topic);
  const done = (async () => {
    try {
      for await (const event of iterator) seen.push({ id: event.id, n: event.data.n });
    } catch (caught) {
      error = caught as Error;
    }
  })();
  return {
    seen,
    error: () => error,
    started: () => iterator,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const STORES: Store[] = HAS_REDIS ? ['memory', 'redis'] : ['memory'];

describe.each(STORES)('the event stream (%s)', (store) => {
  test('a follower gets what any replica appends after it started, in order, once', async () => {
    const [a, b] = replicas(store);
    const follower = collect(b);
    // Following has begun once the first read is under way: an event appended first is seen.
    await until(async () => {
      await a.append('Counted', { n: 0 });
      return follower.seen.length > 0;
    });
    for (let n = 1; n <= 20; n++) await a.append('Counted', { n });
    await until(() => follower.seen.filter((event) => event.n > 0).length === 20, { what: '20 events' });
    await follower.stop();
    // The zeros were the probes of the start.
    const numbers = follower.seen.map((event) => event.n).filter((n) => n > 0);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(follower.seen.map((event) => event.id)).size).toBe(follower.seen.length);
  });

  test('a follower that resumes after an id gets what came after it, then what comes next, without a duplicate', async () => {
    const [a, b] = replicas(store);
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await a.append('Counted', { n }));
    const resumed = collect(b, ids[1]);
    await until(() => resumed.seen.length === 3, { what: 'the three events after the second' });
    for (let n = 6; n <= 8; n++) await a.append('Counted', { n });
    await until(() => resumed.seen.length === 6, { what: 'three more, live' });
    await resumed.stop();
    expect(resumed.seen.map((event) => event.n)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  test("a follower of a topic is handed that topic's events alone, replayed and live; a follower of all, every one", async () => {
    const [a, b] = replicas(store);
    const first = await a.append('Counted', { n: 1 });
    await a.append('Counted', { n: 2 });
    await a.append('Counted', { n: 3 });
    const odd = collect(b, first, 'odd');
    const all = collect(b, first);
    await until(() => odd.seen.length === 1 && all.seen.length === 2, { what: 'the replay' });
    for (let n = 4; n <= 7; n++) await a.append('Counted', { n });
    await until(() => odd.seen.length === 3 && all.seen.length === 6, { what: 'the live events' });
    await odd.stop();
    await all.stop();
    expect(odd.seen.map((event) => event.n)).toEqual([3, 5, 7]);
    expect(all.seen.map((event) => event.n)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  test('an id older than what is kept, or not an id, is told to resync', async () => {
    const [a, b] = replicas(store, { maxLength: 3 });
    const ids: string[] = [];
    for (let n = 1; n <= 6; n++) ids.push(await a.append('Counted', { n }));
    for (const after of [ids[0]!, 'yesterday', '99999999999999-0']) {
      const follower = collect(b, after);
      await until(() => follower.error() !== undefined, { what: `a refusal of ${after}` });
      expect(follower.error()!.extensions?.code).toBe(RESYNC_REQUIRED);
      await follower.stop();
    }
    // The newest id still kept resumes fine.
    const fine = collect(b, ids[3]);
    await until(() => fine.seen.length === 2, { what: 'the two events after the fourth' });
    await fine.stop();
    expect(fine.seen.map((event) => event.n)).toEqual([5, 6]);
  });

  test('a follower that falls too far behind is ended, told the last id it got', async () => {
    const [a, b] = replicas(store, { followerBuffer: 5 });
    const controller = new AbortController();
    const iterator = b.follow(undefined, controller.signal);
    const first = iterator.next();
    await until(async () => {
      await a.append('Counted', { n: 0 });
      return (await Promise.race([first.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20))])) as boolean;
    });
    const got = (await first).value!;
    // Not read while 50 more arrive.
    for (let n = 1; n <= 50; n++) await a.append('Counted', { n });
    let lastGot = got.id;
    const ended = await (async () => {
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) lastGot = next.value.id;
        return undefined;
      } catch (error) {
        return error as Error & { extensions?: Record<string, unknown> };
      }
    })();
    expect(ended?.extensions).toEqual({ code: SLOW_CONSUMER, lastEventId: lastGot });
    controller.abort();
  });

  test('an event of an unknown type, or of the wrong shape, is refused', async () => {
    const [a] = replicas(store);
    await expect(a.append('Unknown' as 'Counted', { n: 1 })).rejects.toThrow(/no event type Unknown/);
    await expect(a.append('Counted', { n: 1.5 })).rejects.toThrow();
  });
});

test('what a stream reports: events appended and delivered, resyncs, followers, and the lag to live readers', async () => {
  const registry = createRegistry('test');
  const stream = createEventStream({
    name: 'counted',
    types: TYPES,
    retention: { maxLength: 1000, maxAgeMs: 60_000 },
    logger,
    blockMs: 200,
    metrics: createEventStreamMetrics(registry),
  });
  streams.push(stream);
  const value = async (name: string, labels: string) =>
    Number(new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} ([\\d.]+)$`, 'm').exec(await registry.metrics())?.[1] ?? 0);
  const follower = collect(stream);
  await until(async () => (await value('patchbay_event_stream_followers', 'stream="counted"')) === 1, { what: 'one follower' });
  for (let n = 1; n <= 3; n++) await stream.append('Counted', { n });
  await until(() => follower.seen.length === 3, { what: 'three events' });
  const refused = collect(stream, '99999999999999-0');
  await until(() => refused.error() !== undefined, { what: 'the resync' });
  await follower.stop();
  await refused.stop();
  expect(await value('patchbay_event_stream_events_total', 'stream="counted",outcome="appended"')).toBe(3);
  expect(await value('patchbay_event_stream_events_total', 'stream="counted",outcome="delivered"')).toBe(3);
  expect(await value('patchbay_event_stream_events_total', 'stream="counted",outcome="resync"')).toBe(1);
  // The refused one asked to resume from an id (one too new to be this stream's).
  expect(await value('patchbay_event_stream_resumes_total', 'stream="counted"')).toBe(1);
  expect(await value('patchbay_event_stream_lag_seconds_count', 'stream="counted"')).toBe(3);
  expect(await value('patchbay_event_stream_followers', 'stream="counted"')).toBe(0);
});
