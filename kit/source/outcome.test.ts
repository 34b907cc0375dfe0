import { describe, expect, test } from '@jest/globals';
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { UpstreamError, UpstreamErrorCode, type UpstreamErrorDetails } from '../errors.js';
import { cancelledByUs, countsAgainstBreaker, provablyNotSent, toUpstreamError } from './outcome.js';

const failure = (code: UpstreamErrorCode, details: UpstreamErrorDetails = {}) => new UpstreamError('test.api', code, details);

describe('what a failure means, defined once', () => {
  test.each<[string, unknown, { notSent: boolean; breaker: boolean; cancelled: boolean }]>([
    ['a refused connection', failure(UpstreamErrorCode.UNAVAILABLE, { notSent: true }), { notSent: true, breaker: true, cancelled: false }],
    ['a reset connection', failure(UpstreamErrorCode.UNAVAILABLE), { notSent: false, breaker: true, cancelled: false }],
    ['a timeout of the upstream', failure(UpstreamErrorCode.TIMEOUT), { notSent: false, breaker: true, cancelled: false }],
    [
      'an attempt we cancelled',
      failure(UpstreamErrorCode.TIMEOUT, { cancelled: true }),
      { notSent: false, breaker: false, cancelled: true },
    ],
    ['a 500', failure(UpstreamErrorCode.UNAVAILABLE, { status: 500 }), { notSent: false, breaker: true, cancelled: false }],
    ['a 504', failure(UpstreamErrorCode.TIMEOUT, { status: 504 }), { notSent: false, breaker: true, cancelled: false }],
    [
      'a 408 (a 4xx: never the breaker)',
      failure(UpstreamErrorCode.TIMEOUT, { status: 408 }),
      { notSent: true, breaker: false, cancelled: false },
    ],
    ['a 429', failure(UpstreamErrorCode.RATE_LIMITED, { status: 429 }), { notSent: true, breaker: false, cancelled: false }],
    ['a 400', failure(UpstreamErrorCode.REJECTED, { status: 400 }), { notSent: true, breaker: false, cancelled: false }],
    ['a 401', failure(UpstreamErrorCode.UNAUTHORIZED, { status: 401 }), { notSent: true, breaker: false, cancelled: false }],
    ['an open circuit', toUpstreamError('test.api', new BrokenCircuitError()), { notSent: true, breaker: false, cancelled: false }],
    ['a full bulkhead', toUpstreamError('test.api', new BulkheadRejectedError(1, 1)), { notSent: true, breaker: false, cancelled: false }],
    ['the deadline', toUpstreamError('test.api', new TaskCancelledError()), { notSent: false, breaker: false, cancelled: true }],
    [
      'a client-side limit',
      failure(UpstreamErrorCode.RATE_LIMITED, { notSent: true }),
      { notSent: true, breaker: false, cancelled: false },
    ],
    ['a bug, not an upstream error', new Error('bug'), { notSent: false, breaker: false, cancelled: false }],
  ])('%s', (_what, error, expected) => {
    expect({ notSent: provablyNotSent(error), breaker: countsAgainstBreaker(error), cancelled: cancelledByUs(error) }).toEqual(expected);
  });
});
