import { randomUUID } from 'node:crypto';
import { messageOf } from '../../kit/process/caught.js';
import { pageSize } from '../../kit/subgraph/page-size.js';
import { SCOPES, requireScope, requireSelf } from '../../kit/caller/scopes.js';
import { badUserInput } from '../../kit/errors.js';
import { DateScalar, DateTimeScalar } from '../../kit/subgraph/scalars.js';
import type { Resolvers, TimeInterval } from './__generated__/resolvers-types.js';
import { eventMessageId, type Unit } from './events.js';
import { SEGMENT_EVENT_BYTES, segmentEventBytes } from './segment.js';

const MAX_TRACK_EVENTS = 100;
/** Counts over every user's events: for analysts, not for each user. */
const DAY_MS = 86_400_000;
const UNIT: Record<TimeInterval, Unit> = { HOUR: 'hour', DAY: 'day', MONTH: 'month' };
/** Longest span per interval, so one answer stays a readable number of points. */
const MAX_SPAN_DAYS: Record<TimeInterval, number> = { HOUR: 31, DAY: 366, MONTH: 366 * 5 };

/** Mixpanel's series keys: `2026-11-26`, `2026-11-26 13:00:00` or `2026-11-01`. */
const periodStart = (period: string) => new Date(`${period.replace(' ', 'T')}${period.length === 10 ? 'T00:00:00' : ''}Z`).toISOString();

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Date: DateScalar,
  User: {
    recentEvents: async ({ id }, { last }, { caller, loaders }) => {
      requireSelf(caller, id);
      const count = pageSize(last, 'last', 100, 10);
      return (await loaders.recentEvents.load(id)).slice(0, count);
    },
    lastSeenAt: async ({ id }, _args, { caller, loaders }) => {
      requireSelf(caller, id);
      return (await loaders.recentEvents.load(id))[0]?.occurredAt ?? null;
    },
  },
  Query: {
    trackDeadLetters: async (_parent, { first }, { caller, dependencies }) => {
      requireScope(caller, SCOPES.admin);
      return (await dependencies.outbox.deadLetters()).slice(0, pageSize(first, 'first', 1000, 100)).map((d) => ({
        id: d.payload.id,
        userId: d.payload.userId,
        name: d.payload.name,
        occurredAt: d.payload.occurredAt,
        reason: d.reason,
        parkedAt: d.at,
      }));
    },
    eventCounts: async (_parent, { event, from, to, interval }, { caller, dependencies }) => {
      requireScope(caller, SCOPES.readAnalytics);
      const unit = interval ?? 'DAY';
      if (event.length < 1 || event.length > 255) throw badUserInput('event must be 1 to 255 characters', 'event');
      const spanDays = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
      if (spanDays < 0) throw badUserInput('from must be on or before to', 'from');
      if (spanDays + 1 > MAX_SPAN_DAYS[unit]) {
        throw badUserInput(`${unit} counts span at most ${MAX_SPAN_DAYS[unit]} days; this asks for ${spanDays + 1}`, 'to');
      }
      const counts = await dependencies.mixpanel.counts(event, from, to, UNIT[unit]);
      return {
        event,
        interval: unit,
        points: counts.map((c) => ({ periodStart: periodStart(c.period), count: c.count })),
        total: counts.reduce((sum, c) => sum + c.count, 0),
      };
    },
  },
  Mutation: {
    replayTrackDeadLetters: (_parent, _args, { caller, dependencies }) => {
      requireScope(caller, SCOPES.admin);
      return dependencies.outbox.replayDeadLetters();
    },
    track: async (_parent, { events }, { caller, dependencies, logger }) => {
      for (const event of events) requireSelf(caller, event.userId);
      if (events.length < 1 || events.length > MAX_TRACK_EVENTS) {
        throw badUserInput(`track takes 1 to ${MAX_TRACK_EVENTS} events, got ${events.length}`, 'events');
      }
      const tracked = events.map((e, i) => {
        const id = e.id ?? randomUUID();
        if (id.length > 100) throw badUserInput(`events[${i}].id is longer than 100 characters`, `events.${i}.id`);
        if (e.name.length < 1 || e.name.length > 255)
          throw badUserInput(`events[${i}].name must be 1 to 255 characters`, `events.${i}.name`);
        return {
          id,
          messageId: eventMessageId(e.userId, id),
          userId: e.userId,
          name: e.name,
          occurredAt: e.occurredAt ?? new Date().toISOString(),
          properties: Object.fromEntries((e.properties ?? []).map((p) => [p.key, p.value])),
        };
      });
      tracked.forEach((event, i) => {
        if (segmentEventBytes(event) > SEGMENT_EVENT_BYTES) {
          throw badUserInput(`events[${i}] is larger than ${SEGMENT_EVENT_BYTES / 1024} KB`, `events.${i}`);
        }
      });
      // Acknowledged once on disk; the outbox delivers to Segment, through outages too.
      await dependencies.outbox.append(tracked.map((event) => ({ id: event.messageId, payload: event })));
      // Told once safe, not depended on: the outbox holds them whatever the stream does.
      await dependencies.events
        .append('EventsTracked', {
          events: tracked.map(({ id, messageId, userId, name, occurredAt }) => ({ id, messageId, userId, name, occurredAt })),
        })
        .catch((error: unknown) => logger.warn({ err: messageOf(error) }, 'tracked events were not told on the event stream'));
      return { accepted: tracked.length, eventIds: tracked.map((e) => e.id) };
    },
  },
};
