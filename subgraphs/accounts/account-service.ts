import { z } from 'zod';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { AccountsConfig } from './config.js';
import { providerEntry } from '../registry.js';

/** The account service answers at most this many ids in one `?ids=` call. */
export const MAX_IDS_PER_CALL = 100;

const UserRecord = z.object({ id: z.string(), email: z.string(), name: z.string(), created_at: z.string() });
const UserList = z.object({ data: z.array(UserRecord), next_cursor: z.string().nullish() });

export interface AccountUser {
  id: string;
  email: string;
  name: string;
  createdAt: string;
}

const toUser = (r: z.infer<typeof UserRecord>): AccountUser => ({ id: r.id, email: r.email, name: r.name, createdAt: r.created_at });

/** Client of our own account service (JSON REST, bearer token). */
export function createAccountsApi(config: AccountsConfig, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('accounts').source,
    baseUrl: config.ACCOUNTS_API_URL,
    headers: { authorization: `Bearer ${config.ACCOUNTS_API_TOKEN}`, accept: 'application/json' },
    timeoutMs: 1000,
    deadlineMs: 2500,
    retry: { attempts: 3, on: [429, 502, 503, 504], maxRetryAfterMs: 1000 },
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 50, maxQueued: 200 },
    // The account service sends Cache-Control and ETags: users are reused, lists revalidated.
    cache: { maxEntries: 10_000, maxBytes: 32 * 2 ** 20 },
  });

  return {
    source,
    /** Up to MAX_IDS_PER_CALL users in one call; unknown ids are absent from the result. */
    async getUsers(ids: readonly string[]): Promise<AccountUser[]> {
      const response = await source.request({ operation: 'getUsers', path: '/v1/users', query: { ids: ids.join(',') } });
      return response.json(UserList).data.map(toUser);
    },
    async listUsers(limit: number, cursor?: string): Promise<{ users: AccountUser[]; nextCursor: string | null }> {
      const response = await source.request({ operation: 'listUsers', path: '/v1/users', query: { limit, cursor } });
      const page = response.json(UserList);
      return { users: page.data.map(toUser), nextCursor: page.next_cursor ?? null };
    },
  };
}
export type AccountsApi = ReturnType<typeof createAccountsApi>;
