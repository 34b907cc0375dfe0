import type { Request, Response } from 'express';
import express from 'express';
import { createProviderApp, jsonError, type ProviderApp } from './provider.js';
import type { SeedEvent } from './seed.js';

export interface AnalyticsSandboxOptions {
  events: SeedEvent[];
  writeKey: string;
  /** Mixpanel service account as `username:secret`. */
  serviceAccount: string;
  projectId: string;
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

function basicUser(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  return Buffer.from(header.slice(6), 'base64').toString('utf8');
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UNITS = ['minute', 'hour', 'day', 'month'] as const;
type Unit = (typeof UNITS)[number];

function bucketOf(seconds: number, unit: Unit): string {
  const iso = new Date(seconds * 1000).toISOString();
  switch (unit) {
    case 'minute':
      return `${iso.slice(0, 10)} ${iso.slice(11, 16)}:00`;
    case 'hour':
      return `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00:00`;
    case 'month':
      return `${iso.slice(0, 7)}-01`;
    default:
      return iso.slice(0, 10);
  }
}

function buckets(from: number, to: number, unit: Unit): string[] {
  const out: string[] = [];
  const step = unit === 'minute' ? 60 : unit === 'hour' ? 3600 : 86_400;
  let last = '';
  for (let t = from; t <= to; t += step) {
    const b = bucketOf(t, unit);
    if (b !== last) out.push(b);
    last = b;
  }
  return out;
}

/**
 * The analytics provider, both sides of it:
 *  - Segment HTTP Tracking API ingest: POST /v1/track and /v1/batch, write key as Basic
 *    user, dedup on messageId, Segment's size limits;
 *  - Mixpanel Query API: GET /api/query/stream/query (one or many users' events) and
 *    /api/query/segmentation (event counts over time), service-account Basic auth.
 * Events ingested through Segment show up in queries, as they would downstream.
 */
export function createAnalyticsSandbox(options: AnalyticsSandboxOptions): ProviderApp & { ingested: SeedEvent[] } {
  const provider = createProviderApp('analytics', {
    errorBody: (status, req) =>
      req.path.startsWith('/api/query')
        ? jsonError(() => ({
            error: status === 429 ? 'Project exceeded rate limits. Please retry the request with exponential backoff.' : 'Internal error',
            status: 'error',
          }))(status)
        : jsonError(() => ({ success: false, message: status === 429 ? 'Too Many Requests' : 'Internal Server Error' }))(status),
    // Segment sends both, its reset in seconds to wait; Mixpanel's query API documents neither.
    throttleHeaders: (seconds, req): Record<string, string> =>
      req.path.startsWith('/api/query') ? {} : { 'Retry-After': String(seconds), 'X-RateLimit-Reset': String(seconds) },
  });
  const events = [...options.events];
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

  // Mixpanel query side.
  provider.app.use('/api/query', (req: Request, res: Response, next) => {
    if (basicUser(req) !== options.serviceAccount) {
      return res.status(401).json({ error: 'Invalid credentials', status: 'error' });
    }
    if (req.query.project_id !== options.projectId) {
      return res.status(400).json({ error: 'project_id is missing or not a project of this service account', status: 'error' });
    }
    next();
  });

  function dateRange(req: Request, res: Response): [number, number] | undefined {
    const from = req.query.from_date;
    const to = req.query.to_date;
    if (typeof from !== 'string' || typeof to !== 'string' || !DATE.test(from) || !DATE.test(to)) {
      res.status(400).json({ error: 'from_date and to_date are required, as yyyy-mm-dd', status: 'error' });
      return undefined;
    }
    const start = Date.parse(`${from}T00:00:00Z`) / 1000;
    const end = Date.parse(`${to}T23:59:59Z`) / 1000;
    if (Number.isNaN(start) || Number.isNaN(end) || start > end) {
      res.status(400).json({ error: 'from_date must be on or before to_date', status: 'error' });
      return undefined;
    }
    return [start, end];
  }

  provider.route('get', '/api/query/stream/query', 'mixpanelStream', (req, res) => {
    let ids: unknown;
    try {
      ids = JSON.parse(String(req.query.distinct_ids ?? ''));
    } catch {
      ids = undefined;
    }
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== 'string')) {
      return res.status(400).json({ error: 'distinct_ids must be a JSON array of strings', status: 'error' });
    }
    const range = dateRange(req, res);
    if (!range) return;
    const wanted = new Set(ids as string[]);
    const found = events
      .filter((e) => wanted.has(e.properties.distinct_id) && e.properties.time >= range[0] && e.properties.time <= range[1])
      .sort((a, b) => a.properties.time - b.properties.time)
      .map(({ event, properties: { distinct_id, ...rest } }) => ({ event, properties: { ...rest, $distinct_id: distinct_id } }));
    res.json({ status: 'ok', results: { events: found } });
  });

  provider.route('get', '/api/query/segmentation', 'mixpanelSegmentation', (req, res) => {
    const event = req.query.event;
    if (typeof event !== 'string' || !event) return res.status(400).json({ error: 'event is required', status: 'error' });
    const unit = (req.query.unit ?? 'day') as Unit;
    if (!UNITS.includes(unit)) return res.status(400).json({ error: 'unit must be minute, hour, day or month', status: 'error' });
    const range = dateRange(req, res);
    if (!range) return;
    const series = buckets(range[0], range[1], unit);
    const values: Record<string, number> = Object.fromEntries(series.map((s) => [s, 0]));
    for (const e of events) {
      if (e.event === event && e.properties.time >= range[0] && e.properties.time <= range[1]) {
        const b = bucketOf(e.properties.time, unit);
        values[b] = (values[b] ?? 0) + 1;
      }
    }
    res.json({ data: { series, values: { [event]: values } }, legend_size: 1 });
  });

  return Object.assign(provider, { ingested });
}
