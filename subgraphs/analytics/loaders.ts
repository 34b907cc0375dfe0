import { groupBy } from '../../kit/subgraph/batch.js';
import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { analyticsUserTopic, type UserEvent } from './events.js';
import { STREAM_IDS_PER_CALL } from './mixpanel.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import type { Dependencies } from './dependencies.js';

/** How far back "recent" reaches. */
export const RECENT_DAYS = 30;

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

export function createLoaders({ mixpanel, recentEvents }: Dependencies) {
  return {
    /** Each user's events of the last RECENT_DAYS, newest first: from the shared cache, else one stream query per 100 users. */
    recentEvents: createLoader<string, UserEvent[]>(
      (userIds) =>
        recentEvents.readMany(
          userIds.map((id) => ({ key: id, tags: [analyticsUserTopic(id)] })),
          async (missing) => {
            const ids = missing.map((i) => userIds[i]!);
            const now = new Date();
            const from = new Date(now.getTime() - (RECENT_DAYS - 1) * 86_400_000);
            const events = await mixpanel.eventsOf(ids, isoDate(from), isoDate(now));
            const byUser = groupBy(events, (e) => e.userId);
            return ids.map((id) => (byUser.get(id) ?? []).reverse());
          },
        ),
      { maxBatchSize: STREAM_IDS_PER_CALL, name: 'analytics.recentEvents' },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
