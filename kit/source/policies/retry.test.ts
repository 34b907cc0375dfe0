import { describe, expect, test } from '@jest/globals';
import { UpstreamError, UpstreamErrorCode, type UpstreamErrorDetails } from '../../errors.js';
import { shouldRetry, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = { attempts: 3, on: [429, 502, 503], maxRetryAfterMs: 5000 };
const failure = (code: UpstreamErrorCode, extra: UpstreamErrorDetails = {}) => new UpstreamError('test.api', code, extra);
/** What the transport makes of a connection that was refused before a byte left. */
const notSent = () => failure(UpstreamErrorCode.UNAVAILABLE, { notSent: true });
const decide = (error: unknown, idempotent: boolean) => shouldRetry(error, { idempotent, policy, deadlineMs: 10_000 });

describe('shouldRetry', () => {
  test.each([
    ['a listed status, safe to repeat', failure(UpstreamErrorCode.UNAVAILABLE, { status: 503 }), true, true],
    ['a listed status, not safe to repeat', failure(UpstreamErrorCode.UNAVAILABLE, { status: 503 }), false, false],
    ['a throttle (not accepted), not safe to repeat', failure(UpstreamErrorCode.RATE_LIMITED, { status: 429 }), false, true],
    [
      'a client error, not safe to repeat (not accepted, but not a status that asks to try again)',
      failure(UpstreamErrorCode.REJECTED, { status: 400 }),
      false,
      false,
    ],
    ['a status not listed', failure(UpstreamErrorCode.UNAVAILABLE, { status: 500 }), true, false],
    ['a client error', failure(UpstreamErrorCode.REJECTED, { status: 400 }), true, false],
    ['a timeout, safe to repeat', failure(UpstreamErrorCode.TIMEOUT), true, true],
    ['a timeout, not safe to repeat (it may have been done)', failure(UpstreamErrorCode.TIMEOUT), false, false],
    ['a refused connection, not safe to repeat (nothing was sent)', notSent(), false, true],
    ['a reset connection, not safe to repeat (it may have arrived)', failure(UpstreamErrorCode.UNAVAILABLE), false, false],
    ['an attempt we cancelled (a hedge lost, a caller gone)', failure(UpstreamErrorCode.TIMEOUT, { cancelled: true }), true, false],
    ['a wait asked for beyond the cap', failure(UpstreamErrorCode.RATE_LIMITED, { status: 429, retryAfterMs: 60_000 }), true, false],
    ['a wait asked for within the cap', failure(UpstreamErrorCode.RATE_LIMITED, { status: 429, retryAfterMs: 1000 }), true, true],
    ['anything that is not an upstream error', new Error('bug'), true, false],
  ])('%s', (_what, error, idempotent, expected) => {
    expect(decide(error, idempotent)).toBe(expected);
  });

  test('without a cap of its own, the deadline bounds the wait', () => {
    const error = failure(UpstreamErrorCode.RATE_LIMITED, { status: 429, retryAfterMs: 8000 });
    expect(shouldRetry(error, { idempotent: true, policy: { attempts: 3, on: [429] }, deadlineMs: 10_000 })).toBe(true);
    expect(shouldRetry(error, { idempotent: true, policy: { attempts: 3, on: [429] }, deadlineMs: 5000 })).toBe(false);
  });
});
