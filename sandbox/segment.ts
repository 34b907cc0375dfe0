import express from 'express';
import { basicUser } from './basic-auth.js';
import { createProviderApp, defineSandboxProvider, jsonError, type ProviderApp } from './provider.js';
import type { SeedEvent } from './seed.js';

export interface SegmentSandboxOptions {
  /** The event store it shares with the Mixpanel sandbox: ingested events are appended. */
  events: SeedEvent[];
  writeKey: string;
}

const EVENT_LIMIT = 32 * 1024;
const BATCH_LIMIT = 500 * 1024;
const BATCH_EVENTS = 2500;

interface SegmentMessage {
  type?: string;
  event?: string;
  userId?: string;
  anonymousId?: string;
  messageId?: string;
  timestamp?: string;
  properties?: Record<string, unknown>;
}

/**
 * Segment's HTTP Tracking API: POST /v1/track and /v1/batch, the write key as Basic user,
 * dedup on messageId, Segment's size limits. Ingested events land in the shared event store,
 * so Mixpanel's queries see them, as they would downstream.
 */
export function createSegmentSandbox(options: SegmentSandboxOptions): ProviderApp & { ingested: SeedEvent[] } {
  const provider = createProviderApp('segment', {
    errorBody: jsonError((status) => ({ success: false, message: status === 429 ? 'Too Many Requests' : 'Internal Server Error' })),
    // Segment sends both, its reset in seconds to wait.
    throttleHeaders: (seconds): Record<string, string> => ({ 'Retry-After': String(seconds), 'X-RateLimit-Reset': String(seconds) }),
  });
  // The project's event store: what Segment ingests, Mixpanel's queries see.
  const events = options.events;
  const seen = new Set(events.map((e) => e.properties.$insert_id));
  const ingested: SeedEvent[] = [];

  // Segment: auth, then size limits checked on the raw body before parsing.
  provider.app.use('/v1', (req, res, next) => {
    const user = basicUser(req);
    if (user !== `${options.writeKey}:`) {
      return res.status(401).json({ success: false, message: 'Invalid write key' });
    }
    next();
  });
  const segmentJson = (limit: number) => express.json({ limit, type: () => true });

  function ingest(message: SegmentMessage): string | undefined {
    if (!message.userId && !message.anonymousId) return 'userId or anonymousId is required';
    if (message.type === 'track' && !message.event) return 'event is required';
    const id = message.messageId;
    if (id && seen.has(id)) return undefined;
    const time = message.timestamp ? Date.parse(message.timestamp) : Date.now();
    const stored: SeedEvent = {
      event: message.event ?? message.type ?? 'unknown',
      properties: {
        ...Object.fromEntries(Object.entries(message.properties ?? {}).map(([k, v]) => [k, typeof v === 'number' ? v : String(v)])),
        time: Math.floor((Number.isNaN(time) ? Date.now() : time) / 1000),
        distinct_id: message.userId ?? message.anonymousId ?? '',
        $insert_id: id ?? `${Date.now()}-${Math.random()}`,
      },
    };
    seen.add(stored.properties.$insert_id);
    events.push(stored);
    ingested.push(stored);
    return undefined;
  }

  provider.app.use('/v1/track', segmentJson(EVENT_LIMIT));
  provider.route('post', '/v1/track', 'segmentTrack', (req, res) => {
    ingest({ ...(req.body as SegmentMessage), type: 'track' });
    res.json({ success: true });
  });

  provider.app.use('/v1/batch', segmentJson(BATCH_LIMIT));
  provider.route('post', '/v1/batch', 'segmentBatch', (req, res) => {
    const batch = (req.body as { batch?: SegmentMessage[] }).batch;
    if (!Array.isArray(batch)) return res.status(400).json({ success: false, message: 'batch must be an array' });
    // Segment refuses a batch holding an event over its 32 KB limit, the whole batch.
    if (batch.some((message) => Buffer.byteLength(JSON.stringify(message)) > EVENT_LIMIT)) {
      return res.status(400).json({ success: false, message: 'an event is larger than 32 KB' });
    }
    // Segment answers 200 and drops a batch with too many events; so does the sandbox.
    if (batch.length <= BATCH_EVENTS) for (const message of batch) ingest(message);
    res.json({ success: true });
  });

  return Object.assign(provider, { ingested });
}

export const sandboxProvider = defineSandboxProvider({
  name: 'segment',
  create: (seed, credentials) => createSegmentSandbox({ events: seed.events, writeKey: credentials.SEGMENT_WRITE_KEY }),
  env: (url) => ({ SEGMENT_API_URL: url }),
});
