import type { IDefaultPolicyContext } from 'cockatiel';
import type { UpstreamResponse } from './response.js';
import type { CallContext } from './types.js';

/**
 * A policy of a source's chain: cockatiel's own (retry, breaker, bulkhead, timeout) fit as
 * they are; the source's own (cache, hedge, admission) also read the call from the context
 * they are given. `next` runs the rest of the chain with what this policy changes (a signal
 * of its own, a conditional request).
 */
export interface ChainPolicy {
  execute(
    next: (patch: IDefaultPolicyContext & Partial<CallContext>) => PromiseLike<UpstreamResponse> | UpstreamResponse,
    signal: AbortSignal,
    context: CallContext,
  ): Promise<UpstreamResponse>;
}

/**
 * Runs `attempt` under `policies`, outermost first, as cockatiel's `wrap` does, with the
 * call in the context each policy sees and passes on.
 */
export function runChain(
  policies: readonly ChainPolicy[],
  context: CallContext,
  attempt: (context: CallContext) => Promise<UpstreamResponse>,
): Promise<UpstreamResponse> {
  const run = (current: CallContext, index: number): Promise<UpstreamResponse> =>
    index === policies.length
      ? attempt(current)
      : policies[index]!.execute((patch) => run({ ...current, ...patch }, index + 1), current.signal, current);
  return run(context, 0);
}
