import { describe, expect, test } from '@jest/globals';
import { RequestError } from 'got';
import { UpstreamError, UpstreamErrorCode } from './errors.js';
import { shouldRetry, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = { attempts: 3, on: [429, 502, 503], notAcceptedOn: [429], maxRetryAfterMs: 5000 };
const failure = (code: UpstreamErrorCode, extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) =>
  new UpstreamError('test.api', code, extra);
const notSent = (code: string) => {
  const cause = new RequestError('connect failed', { code } as NodeJS.ErrnoException, {} as never);
  return failure(UpstreamErrorCode.UNAVAILABLE, { cause });
};
const decide = (error: unknown, idempotent: boolean) => shouldRetry(error, { idempotent, policy, deadlineMs: 10_000 });

describe('shouldRetry', () => {
  test.each([
    ['a listed status, safe to repeat', failure(UpstreamErrorCode.UNAVAILABLE, { status: 503 }), true, true],
    ['a listed status, not safe to repeat', failure(UpstreamErrorCode.UNAVAILABLE, { status: 503 }), false, false],
    [
      'a status the provider says it did not accept, not safe to repeat',
      failure(UpstreamErrorCode.RATE_LIMITED, { status: 429 }),
      false,
      true,
    ],
    ['a status not listed', failure(UpstreamErrorCode.UNAVAILABLE, { status: 500 }), true, false],
    ['a client error', failure(UpstreamErrorCode.REJECTED, { status: 400 }), true, false],
    ['a timeout, safe to repeat', failure(UpstreamErrorCode.TIMEOUT), true, true],
    ['a timeout, not safe to repeat (it may have been done)', failure(UpstreamErrorCode.TIMEOUT), false, false],
    ['a refused connection, not safe to repeat (nothing was sent)', notSent('ECONNREFUSED'), false, true],
    ['a name that does not resolve (nothing was sent)', notSent('ENOTFOUND'), false, true],
    ['a reset connection, not safe to repeat (it may have arrived)', notSent('ECONNRESET'), false, false],
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
