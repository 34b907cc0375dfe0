import type { Request, Response } from 'express';
import { basicUser } from './basic-auth.js';
import { createProviderApp, defineSandboxProvider, jsonError, type ProviderApp } from './provider.js';
import type { SeedEvent } from './seed.js';

export interface MixpanelSandboxOptions {
  /** The event store it shares with the Segment sandbox. */
  events: SeedEvent[];
  /** Mixpanel service account as `username:secret`. */
  serviceAccount: string;
  projectId: string;
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
 * Mixpanel's Query API: GET /api/query/stream/query (one or many users' events) and
 * /api/query/segmentation (event counts over time), service-account Basic auth.
 */
export function createMixpanelSandbox(options: MixpanelSandboxOptions): ProviderApp {
  const provider = createProviderApp('mixpanel', {
    errorBody: jsonError((status) => ({
      error: status === 429 ? 'Project exceeded rate limits. Please retry the request with exponential backoff.' : 'Internal error',
      status: 'error',
    })),
    // Mixpanel's query API documents no throttle headers.
    throttleHeaders: (): Record<string, string> => ({}),
  });
  const events = options.events;

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

  return provider;
}

export const sandboxProvider = defineSandboxProvider({
  name: 'mixpanel',
  create: (seed, credentials) =>
    createMixpanelSandbox({
      events: seed.events,
      serviceAccount: credentials.MIXPANEL_SERVICE_ACCOUNT,
      projectId: credentials.MIXPANEL_PROJECT_ID,
    }),
  // The sandbox does not limit queries; real Mixpanel allows 60 an hour.
  env: (url) => ({ MIXPANEL_API_URL: `${url}/api/query`, MIXPANEL_QUERIES_PER_HOUR: '0' }),
});
