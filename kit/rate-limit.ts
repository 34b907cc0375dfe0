/**
 * Client-side token bucket: keeps a source under the provider's documented request rate.
 * A caller waits for a token rather than being refused, unless the wait would pass its
 * deadline, in which case it is told how long it would have waited.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = Math.max(1, Math.ceil(perSecond)),
  ) {
    this.tokens = this.burst;
  }

  private refill(now: number) {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
  }

  /**
   * Takes a token, waiting for it when that fits in `maxWaitMs`. Returns the ms waited, or,
   * when the wait would be longer, takes nothing and returns how long it would have been.
   */
  async take(maxWaitMs: number, signal?: AbortSignal): Promise<{ waitedMs: number } | { refusedForMs: number }> {
    this.refill(performance.now());
    this.tokens -= 1;
    if (this.tokens >= 0) return { waitedMs: 0 };
    const waitMs = (-this.tokens / this.perSecond) * 1000;
    if (waitMs > maxWaitMs) {
      this.tokens += 1;
      return { refusedForMs: Math.ceil(waitMs) };
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, waitMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        // The caller gave up: its token goes back to the ones waiting after it.
        this.tokens += 1;
        reject(signal.reason);
      });
    });
    return { waitedMs: waitMs };
  }
}
