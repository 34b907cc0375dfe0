import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { UpstreamError } from '../kit/errors.js';
import { createSource, type SourceOptions } from '../kit/source/index.js';
import type { Sandbox } from '../sandbox/index.js';
import { EmailConfig } from '../subgraphs/email/config.js';
import { createSendgridApi } from '../subgraphs/email/sendgrid.js';
import { testResources, useSandbox } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

let sandbox: Sandbox;
useSandbox((started) => (sandbox = started));

const silentKit = testResources;
/** A source on the accounts sandbox with a test policy; `getUser` is an idempotent GET. */
function accounts(policy: Partial<SourceOptions> = {}) {
  const source = createSource({
    name: 'test.accounts',
    baseUrl: sandbox.url('accounts'),
    headers: { authorization: `Bearer ${providerEntry('accounts').credentials.token}` },
    timeoutMs: 500,
    deadlineMs: 3000,
    retry: { attempts: 3, on: [429, 502, 503, 504], baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 1500 },
    ...silentKit(),
    ...policy,
  });
  // `n` picks a distinct user: identical reads in flight would share one upstream call.
  return { source, getUser: (n = 1) => source.request({ operation: 'getUser', path: `/v1/users/usr_${String(n).padStart(5, '0')}` }) };
}
const attempts = () => sandbox.calls().accounts.getUser ?? 0;
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as UpstreamError,
  );

describe('retries of an idempotent GET', () => {
  test('fails twice with 503, then succeeds on the third attempt', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', status: 503, times: 2 }]);
    const response = await accounts().getUser();
    expect(response.status).toBe(200);
    expect(attempts()).toBe(3);
  });

  test('gives up after the declared attempts with UPSTREAM_UNAVAILABLE', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', status: 503 }]);
    const error = await failure(accounts().getUser());
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'test.accounts', retryable: true, upstreamStatus: 503 });
    expect(attempts()).toBe(3);
  });

  test('a 4xx is not retried', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', status: 400 }]);
    expect((await failure(accounts().getUser())).code).toBe('UPSTREAM_REJECTED');
    expect(attempts()).toBe(1);
  });

  test('Retry-After is honoured when within the cap, and not waited for beyond it', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', status: 429, retryAfter: 1, times: 1 }]);
    expect((await accounts().getUser()).status).toBe(200);
    expect(attempts()).toBe(2);

    sandbox.resetCalls();
    sandbox.faults('accounts', [{ operation: 'getUser', status: 429, retryAfter: 30 }]);
    const error = await failure(accounts().getUser());
    expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 30_000 });
    expect(attempts()).toBe(1);
  });

  test('a reset connection is retried', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', reset: true, times: 1 }]);
    expect((await accounts().getUser()).status).toBe(200);
    expect(attempts()).toBe(2);
  });

  test('an upstream that never answers costs one timeout per attempt and ends UPSTREAM_TIMEOUT', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', hang: true }]);
    const error = await failure(accounts({ timeoutMs: 150, retry: { attempts: 2, on: [503], baseDelayMs: 10 } }).getUser());
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(attempts()).toBe(2);
  });

  test('the deadline bounds the whole call, retries included', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', hang: true }]);
    const error = await failure(accounts({ timeoutMs: 1000, deadlineMs: 300 }).getUser());
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(attempts()).toBe(1);
  });
});

describe('email sends are never repeated once the provider may have accepted them', () => {
  const sendgrid = () => createSendgridApi(EmailConfig.parse({ SENDGRID_API_URL: sandbox.url('sendgrid') }), silentKit());
  const mail = { to: 'a@example.com', subject: 'Hi', text: 'Hello', sendId: 'send-1' };
  const sends = () => sandbox.calls().sendgrid.mailSend ?? 0;

  test('a 500 after sending is not retried', async () => {
    sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 500, times: 1 }]);
    expect((await failure(sendgrid().send(mail))).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(sends()).toBe(1);
  });

  test('a 429 (not accepted) is retried after X-RateLimit-Reset', async () => {
    sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 429, retryAfter: 1, times: 1 }]);
    expect((await sendgrid().send(mail)).messageId).toMatch(/^[\w-]{22}$/);
    expect(sends()).toBe(2);
    expect(sandbox.providers.sendgrid.sent).toHaveLength(1);
  });

  test('a timeout is not retried', async () => {
    sandbox.faults('sendgrid', [{ operation: 'mailSend', hang: true }]);
    expect((await failure(sendgrid().send(mail))).code).toBe('UPSTREAM_TIMEOUT');
    expect(sends()).toBe(1);
  });

  test('413 is never retried', async () => {
    sandbox.faults('sendgrid', [{ operation: 'mailSend', status: 413 }]);
    expect((await failure(sendgrid().send(mail))).code).toBe('UPSTREAM_REJECTED');
    expect(sends()).toBe(1);
  });

  test('a refused connection (nothing sent) is retried', async () => {
    const resources = silentKit();
    const api = createSendgridApi(EmailConfig.parse({ SENDGRID_API_URL: 'http://127.0.0.1:9' }), resources);
    expect((await failure(api.send(mail))).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await resources.metrics.retries.get()).values[0]?.value).toBe(2);
  });
});

describe('circuit breaker', () => {
  // The breaker times its open state by Date.now(): the date alone is faked and moved on;
  // timers, sockets and the sandbox run as they are.
  const advanceDate = (ms: number) => jest.setSystemTime(Date.now() + ms);
  beforeEach(() => {
    jest.useFakeTimers({
      now: Date.now(),
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('opens after consecutive failures, fails fast without calling, recovers through half-open', async () => {
    const { source, getUser } = accounts({ retry: undefined, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 } });
    sandbox.faults('accounts', [{ operation: 'getUser', status: 503 }]);
    for (let i = 0; i < 3; i++) expect((await failure(getUser())).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(source.breakerState()).toBe('open');

    const open = await failure(getUser());
    expect(open.extensions).toMatchObject({ code: 'CIRCUIT_OPEN', source: 'test.accounts', retryable: true });
    expect(attempts()).toBe(3);

    sandbox.clearFaults();
    advanceDate(299);
    expect((await failure(getUser())).code).toBe('CIRCUIT_OPEN');
    advanceDate(1);
    expect((await getUser()).status).toBe(200);
    expect(source.breakerState()).toBe('closed');
    expect(attempts()).toBe(4);
  });

  test('a half-open trial that fails opens the circuit again', async () => {
    const { source, getUser } = accounts({ retry: undefined, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 100 } });
    sandbox.faults('accounts', [{ operation: 'getUser', status: 503 }]);
    await failure(getUser());
    advanceDate(100);
    expect((await failure(getUser())).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(source.breakerState()).toBe('open');
    expect(attempts()).toBe(2);
  });

  test('a failure rate opens it when failures never come enough in a row', async () => {
    const breaker = { failureRate: 0.5, minimumRequests: 6, windowMs: 10_000, consecutiveFailures: 4, halfOpenAfterMs: 10_000 };
    const { source, getUser } = accounts({ retry: undefined, breaker });
    // Three of every four calls fail, never more than three in a row: S F F F S F ...
    sandbox.faults('accounts', [{ operation: 'getUser', status: 503, rate: 0.75 }]);
    const codes: string[] = [];
    for (let i = 0; i < 7; i++)
      codes.push(
        await getUser().then(
          () => 'ok',
          (e: UpstreamError) => e.code,
        ),
      );
    expect(codes).toEqual([
      'ok',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_UNAVAILABLE',
      'ok',
      'UPSTREAM_UNAVAILABLE',
      'CIRCUIT_OPEN',
    ]);
    expect(source.breakerState()).toBe('open');
  });

  test('client errors do not open the circuit', async () => {
    const { source, getUser } = accounts({ retry: undefined, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1000 } });
    sandbox.faults('accounts', [{ operation: 'getUser', status: 404 }]);
    for (let i = 0; i < 4; i++) await failure(getUser());
    expect(source.breakerState()).toBe('closed');
  });
});

describe('bulkhead and rate limit', () => {
  test('calls past the concurrency limit and queue are refused at once, without an upstream call', async () => {
    sandbox.faults('accounts', [{ operation: 'getUser', latencyMs: 200 }]);
    const { getUser } = accounts({ bulkhead: { maxConcurrent: 1, maxQueued: 1 } });
    const results = await Promise.allSettled([getUser(1), getUser(2), getUser(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(((results[2] as PromiseRejectedResult).reason as UpstreamError).code).toBe('UPSTREAM_OVERLOADED');
    expect(attempts()).toBe(2);
  });

  test('the client-side rate limit makes calls wait their turn', async () => {
    const resources = silentKit();
    const { getUser } = accounts({ rateLimit: { perSecond: 20, burst: 1 }, ...resources });
    await Promise.all([getUser(1), getUser(2), getUser(3)]);
    expect(attempts()).toBe(3);
    expect((await resources.metrics.rateLimitWaits.get()).values[0]?.value).toBe(2);
  });
});
