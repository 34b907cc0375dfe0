import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { ClientAuthContext } from './client-auth.js';
import { requestError } from '../errors.js';
import { endableStream } from '../../kit/process/endable-stream.js';

export interface SubscriptionLimits {
  /** Subscriptions one user may hold open on this replica. */
  perUser: number;
  /** The longest a subscription stays open: then it ends, and the client resumes. */
  lifetimeMs: number;
  /** Subscriptions one WebSocket may carry at once. */
  perConnection: number;
  /** How long a WebSocket without a subscription stays open. */
  idleMs: number;
}

/** Why a stream ended before its client or its subgraph ended it: each a typed last event the client can act on. */
const ENDINGS = {
  expired: [
    'The token this subscription was opened with expired: subscribe again with a fresh one, after the last event id',
    'TOKEN_EXPIRED',
  ],
  lifetime: ['This subscription reached its longest life: subscribe again, after the last event id', 'RECONNECT'],
  draining: ['This gateway is stopping: subscribe again, after the last event id (another replica serves it)', 'RECONNECT'],
} as const;
type Ending = keyof typeof ENDINGS;

const endingResult = (ending: Ending): ExecutionResult => ({
  errors: [new GraphQLError(ENDINGS[ending][0], { extensions: { code: ENDINGS[ending][1], retryable: true } })],
});

/**
 * What a subscription may hold of a gateway replica: at most `perUser` open per user (refused
 * 429 TOO_MANY_SUBSCRIPTIONS beyond), none past its token's expiry (TOKEN_EXPIRED) or its
 * longest life (RECONNECT), and none past a drain (RECONNECT: the client resumes on another
 * replica with the last event id it got). Counts per replica; the load balancer spreads users.
 */
export function createSubscriptionPolicy(limits: SubscriptionLimits) {
  const openByUser = new Map<string, number>();
  const drains = new Set<() => void>();
  let draining = false;
  const plugin: GatewayPlugin<ClientAuthContext> = {
    onSubscribe({ args }) {
      const identity = args.contextValue.identity;
      if (!identity) return;
      if (draining) throw requestError(ENDINGS.draining[0], 'RECONNECT', { retryable: true }, 503);
      const open = openByUser.get(identity.userId) ?? 0;
      if (open >= limits.perUser)
        throw requestError(
          `At most ${limits.perUser} subscriptions of one user are open at once: close one first`,
          'TOO_MANY_SUBSCRIPTIONS',
          {},
          429,
        );
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          openByUser.set(identity.userId, open + 1);
          const timers: NodeJS.Timeout[] = [];
          let drain = () => {};
          const ended = new Promise<Ending>((resolve) => {
            const lifetimeEnds = Date.now() + limits.lifetimeMs;
            const ending: Ending = identity.expiresAt < lifetimeEnds ? 'expired' : 'lifetime';
            timers.push(setTimeout(() => resolve(ending), Math.max(0, Math.min(identity.expiresAt, lifetimeEnds) - Date.now())).unref());
            drain = () => resolve('draining');
            drains.add(drain);
          });
          setResult(
            endableStream(result, ended.then(endingResult), () => {
              for (const timer of timers) clearTimeout(timer);
              drains.delete(drain);
              const left = (openByUser.get(identity.userId) ?? 1) - 1;
              if (left > 0) openByUser.set(identity.userId, left);
              else openByUser.delete(identity.userId);
            }),
          );
        },
      };
    },
  };
  return {
    plugin,
    /** Ends every open subscription with RECONNECT, and refuses new ones: the process is stopping. */
    drain() {
      draining = true;
      for (const drain of drains) drain();
    },
    /** Open subscriptions on this replica. */
    open: () => [...openByUser.values()].reduce((sum, count) => sum + count, 0),
  };
}
export type SubscriptionPolicy = ReturnType<typeof createSubscriptionPolicy>;
