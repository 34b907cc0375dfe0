import { TimeoutStrategy, timeout, type TimeoutPolicy } from 'cockatiel';

/**
 * The limit of a whole call, its retries and their waits included: past it the attempt in
 * flight is cancelled (by us: it does not count against the upstream's health).
 */
export const deadlinePolicy = (deadlineMs: number): TimeoutPolicy => timeout(deadlineMs, TimeoutStrategy.Cooperative);
