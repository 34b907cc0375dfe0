import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { providerEntry, sandboxUrl } from '../registry.js';

/** The analytics subgraph's settings: Segment for ingest, Mixpanel for queries, the outbox between. */
export const AnalyticsConfig = z.object({
  SEGMENT_API_URL: env.upstreamUrl(sandboxUrl('segment'), 'https://api.segment.io'),
  SEGMENT_WRITE_KEY: env.secret(providerEntry('segment').credentials.writeKey),
  MIXPANEL_API_URL: env.upstreamUrl(`${sandboxUrl('mixpanel')}/api/query`, 'https://mixpanel.com/api/query'),
  /** Mixpanel service account, `username:secret`. */
  MIXPANEL_SERVICE_ACCOUNT: env.secret(providerEntry('mixpanel').credentials.serviceAccount, {
    format: [/^[^:]+:.+$/, 'must be username:secret'],
    generate: () => `patchbay.${randomBytes(4).toString('hex')}:${randomBytes(24).toString('base64url')}`,
  }),
  MIXPANEL_PROJECT_ID: env.local(
    z.string().regex(/^\d+$/, 'must be a numeric project id').default(providerEntry('mixpanel').account.projectId),
  ),
  /** Mixpanel's documented Query API limit per project; 0 turns the client-side limit off. */
  MIXPANEL_QUERIES_PER_HOUR: z.coerce.number().int().min(0).default(60),
  /**
   * Where tracked events wait for Segment (acknowledged only once written there): this
   * directory, one per replica on a persistent volume; with REDIS_URL, Redis instead.
   */
  OUTBOX_DIR: z.string().min(1).default('.outbox/analytics'),
  /** With REDIS_URL: how often a replica looks for events a replica that died left, to deliver them. */
  OUTBOX_RESCAN_MS: env.ms(30_000),
});
export type AnalyticsConfig = z.infer<typeof AnalyticsConfig>;
