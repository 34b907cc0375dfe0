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

  /** Takes a token, waiting up to `maxWaitMs`; returns the ms waited, or -1 when it would exceed it. */
  async take(maxWaitMs: number, signal?: AbortSignal): Promise<number> {
    this.refill(performance.now());
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    const waitMs = (-this.tokens / this.perSecond) * 1000;
    if (waitMs > maxWaitMs) {
      this.tokens += 1;
      return -1;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, waitMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    return waitMs;
  }
}
