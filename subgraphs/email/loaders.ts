import { chunk, fanOut, groupBy } from '../../kit/subgraph/batch.js';
import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import type { EmailMessageRecord } from './messages.js';
import { ACTIVITY_LIMIT } from './sendgrid.js';
import { createLoader } from '../../kit/subgraph/loader.js';
import { asError } from '../../kit/process/caught.js';
import type { Dependencies } from './dependencies.js';
import { EMAIL_TOPICS } from './events.js';

/** A User as the gateway sends it here: its key and the @requires'd email. */
export interface UserReference {
  id: string;
  email?: string | null;
}

interface MessagesKey {
  address: string;
  first: number;
}

/** Upstream calls that run at once for one request's per-address lookups. */
const FAN_OUT = 8;

export function createLoaders({ sendgrid, messageLists }: Dependencies) {
  /**
   * Messages of many addresses in as few Email Activity queries as the 1000-message cap
   * allows. A query that comes back full may have cut some addresses short: those are
   * asked again on their own, so no user ever sees a truncated list.
   */
  async function loadMessages(keys: readonly MessagesKey[]): Promise<Array<EmailMessageRecord[] | Error>> {
    const results = new Map<string, EmailMessageRecord[] | Error>();
    const byFirst = groupBy(keys, (k) => k.first);
    await Promise.all(
      [...byFirst].flatMap(([first, group]) => {
        const addresses = [...new Set(group.map((k) => k.address))];
        return chunk(addresses, Math.max(1, Math.floor(ACTIVITY_LIMIT / first))).map(async (part) => {
          const id = (address: string) => `${first}\u0000${address}`;
          try {
            const found = await sendgrid.messagesTo(part, ACTIVITY_LIMIT);
            const perAddress = groupBy(found, (m) => m.to);
            const full = found.length >= ACTIVITY_LIMIT;
            const short: string[] = [];
            for (const address of part) {
              const list = perAddress.get(address) ?? [];
              if (full && list.length < first) short.push(address);
              else results.set(id(address), list.slice(0, first));
            }
            const retried = await fanOut(short, FAN_OUT, (address) => sendgrid.messagesTo([address], first));
            short.forEach((address, i) => results.set(id(address), retried[i]!));
          } catch (error) {
            for (const address of part) results.set(id(address), asError(error));
          }
        });
      }),
    );
    return keys.map((k) => results.get(`${k.first}\u0000${k.address}`)!);
  }

  /**
   * Bounce state of many addresses. SendGrid filters bounces by one address only, so several
   * are answered from the whole bounce list (pages of 500, reused for a minute) when it is
   * shorter than one call per address would be; one address is looked up on its own.
   */
  async function loadBounced(addresses: readonly string[]): Promise<Array<boolean | Error>> {
    if (addresses.length > 1) {
      const bounced = await sendgrid.bouncedAddresses(addresses.length - 1);
      if (bounced) return addresses.map((a) => bounced.has(a));
    }
    return fanOut(addresses, FAN_OUT, (a) => sendgrid.isBounced(a));
  }

  return {
    messages: createLoader<MessagesKey, EmailMessageRecord[], string>(
      (keys) =>
        messageLists.readMany(
          keys.map((k) => ({ key: `${k.first}\u0000${k.address}`, tags: [EMAIL_TOPICS.recipient(k.address)] })),
          (missing) => loadMessages(missing.map((i) => keys[i]!)),
        ),
      {
        cacheKeyFn: (k) => `${k.first}\u0000${k.address}`,
        name: 'email.messages',
      },
    ),
    bounced: createLoader<string, boolean>(loadBounced, { name: 'email.bounced' }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
