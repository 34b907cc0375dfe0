import { UpstreamError, UpstreamErrorCode } from '../../errors.js';
import type { ChainPolicy } from '../chain.js';
import { systemClock, type Bucket, type Clock } from '../limiter.js';
import type { PauseBoard } from '../pauses.js';
import type { Priority } from '../types.js';

/** The longest pause a provider's answer may put on a source. */
const MAX_PAUSE_MS = 3_600_000;

export interface AdmissionObservers {
  /** A call waited for its turn (a pause, or a token). */
  onWait?(priority: Priority, waitedMs: number): void;
  /** The provider asked every caller to wait this long. */
  onPause?(pauseMs: number): void;
}

/**
 * The last step before an attempt: the source's turn. A pause the provider asked for (through
 * any caller, on any replica) is waited out first, then a token of the provider's rate is
 * taken (interactive calls before background work); a turn further away than the call's
 * deadline is refused at once with RATE_LIMITED and when to come back (nothing was sent). A
 * token taken stays spent whatever becomes of the attempt; a caller that gives up before its
 * turn gives its reservation back. An answer of 429 or 503 that says when to come back pauses
 * the source for every caller until then.
 */
export function admissionPolicy(
  source: string,
  parts: { bucket?: Bucket; pauses: PauseBoard; clock?: Clock },
  observers: AdmissionObservers = {},
): ChainPolicy {
  const { bucket, pauses } = parts;
  const clock = parts.clock ?? systemClock;
  const refused = (retryAfterMs: number) =>
    new UpstreamError(source, UpstreamErrorCode.RATE_LIMITED, {
      retryAfterMs,
      notSent: true,
      cause: 'the client-side rate limit, or a pause the provider asked for',
    });

  /** Waits for the call's turn; returns how long it slept for it. */
  async function enter(priority: Priority, deadlineAt: number, signal: AbortSignal): Promise<number> {
    let slept = 0;
    const sleep = async (ms: number) => {
      await clock.sleep(ms, signal);
      slept += ms;
    };
    for (;;) {
      const left = deadlineAt - clock.now();
      const paused = pauses.until(source) - clock.now();
      if (paused > 0) {
        if (paused > left) throw refused(Math.ceil(paused));
        await sleep(paused);
        continue;
      }
      if (!bucket) return slept;
      const turn = await bucket.reserve(priority, Math.max(0, left));
      if ('refusedForMs' in turn) throw refused(turn.refusedForMs);
      if ('retryInMs' in turn) {
        if (turn.retryInMs > left) throw refused(turn.retryInMs);
        await sleep(turn.retryInMs);
        continue;
      }
      if (turn.waitMs > 0) {
        try {
          await sleep(turn.waitMs);
        } catch (reason) {
          turn.refund();
          throw reason;
        }
      }
      return slept;
    }
  }

  return {
    async execute(next, signal, context) {
      const waitedMs = await enter(context.call.priority, context.call.deadlineAt, signal);
      if (waitedMs > 0) observers.onWait?.(context.call.priority, waitedMs);
      try {
        return await next({ signal });
      } catch (error) {
        const asked = error instanceof UpstreamError && (error.status === 429 || error.status === 503) ? error.retryAfterMs : undefined;
        if (asked !== undefined && asked > 0) {
          const pauseMs = Math.min(asked, MAX_PAUSE_MS);
          pauses.pause(source, clock.now() + pauseMs);
          observers.onPause?.(pauseMs);
        }
        throw error;
      }
    },
  };
}
