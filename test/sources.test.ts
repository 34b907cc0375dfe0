/**
 * The fault matrix, run against every real source with the policy it declares: for each
 * fault, how many attempts reach the provider (counted by the sandbox) and what the caller
 * gets. Expected counts are written out here so that a policy change shows up as a test
 * change a reviewer sees.
 */
import { describe, expect, test } from '@jest/globals';
import { UpstreamError } from '../kit/errors.js';
import type { Source } from '../kit/source/index.js';
import type { SubgraphResources } from '../kit/subgraph/definition.js';
import type { FaultRule } from '../sandbox/faults.js';
import type { Sandbox } from '../sandbox/index.js';
import { createAccountsApi } from '../subgraphs/accounts/account-service.js';
import { AccountsConfig } from '../subgraphs/accounts/config.js';
import { AnalyticsConfig } from '../subgraphs/analytics/config.js';
import { createMixpanelApi } from '../subgraphs/analytics/mixpanel.js';
import { createSegmentApi } from '../subgraphs/analytics/segment.js';
import { EmailConfig } from '../subgraphs/email/config.js';
import { createPostmarkApi } from '../subgraphs/email/postmark.js';
import { createSendgridApi } from '../subgraphs/email/sendgrid.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { createS3Api } from '../subgraphs/storage/s3.js';
import { testResources, useSandbox } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

let sandbox: Sandbox;
useSandbox((started) => (sandbox = started));

type Provider = keyof ReturnType<Sandbox['calls']>;
/** Attempts the provider saw, and the error code the caller got (none: it succeeded). */
type Outcome = [attempts: number, code?: string];

interface Row {
  source: string;
  provider: Provider;
  /** The provider operation one call makes, as the sandbox counts it. */
  operation: string;
  /** Builds the real source on a fresh resources; `call(n)` makes one call, a distinct one for each n. */
  connect(resources: SubgraphResources): { source: Source; call(n?: number): Promise<unknown> };
  /** How this provider throttles, once. */
  throttle: FaultRule;
  expect: {
    failsTwice503: Outcome;
    throttledOnce: Outcome;
    resetOnce: Outcome;
    rejected: Outcome;
    hangAttempts: [min: number, max: number];
  };
}

const mail = { to: 'matrix@example.com', subject: 'Hi', text: 'Hello', sendId: 'matrix-1' };
const env = () => sandbox.env();
const retryAfter1s: FaultRule = { status: 429, retryAfter: 1, times: 1 };

/** A read retries within its policy: 3 attempts, a throttle waited for, a reset tried again. */
const READ: Row['expect'] = {
  failsTwice503: [3],
  throttledOnce: [2],
  resetOnce: [2],
  rejected: [1, 'UPSTREAM_REJECTED'],
  hangAttempts: [2, 3],
};
/** A send is repeated only after a 429 (not accepted), never after what may have been accepted. */
const SEND: Row['expect'] = {
  failsTwice503: [1, 'UPSTREAM_UNAVAILABLE'],
  throttledOnce: [2],
  resetOnce: [1, 'UPSTREAM_UNAVAILABLE'],
  rejected: [1, 'UPSTREAM_REJECTED'],
  hangAttempts: [1, 1],
};

const ROWS: Row[] = [
  {
    source: providerEntry('accounts').source,
    provider: 'accounts',
    operation: 'getUsersByIds',
    connect(resources) {
      const api = createAccountsApi(AccountsConfig.parse(env()), resources);
      return { source: api.source, call: (n = 1) => api.getUsers([`usr_${String(n).padStart(5, '0')}`]) };
    },
    throttle: retryAfter1s,
    expect: READ,
  },
  {
    source: 'email.sendgrid (activity)',
    provider: 'sendgrid',
    operation: 'activityQuery',
    connect(resources) {
      const api = createSendgridApi(EmailConfig.parse(env()), resources);
      return { source: api.source, call: (n = 0) => api.messagesTo([`matrix${n}@example.com`], 10) };
    },
    throttle: retryAfter1s,
    expect: READ,
  },
  {
    // A send is repeated only after a 429 (SendGrid did not accept it), never after a
    // failure that may have come after the message was taken.
    source: 'email.sendgrid (send)',
    provider: 'sendgrid',
    operation: 'mailSend',
    connect(resources) {
      const api = createSendgridApi(EmailConfig.parse(env()), resources);
      return { source: api.source, call: () => api.send(mail) };
    },
    throttle: retryAfter1s,
    expect: SEND,
  },
  {
    source: providerEntry('postmark').source,
    provider: 'postmark',
    operation: 'email',
    connect(resources) {
      const api = createPostmarkApi(EmailConfig.parse(env()), resources);
      return { source: api.source, call: () => api.send(mail) };
    },
    throttle: retryAfter1s,
    expect: SEND,
  },
  {
    source: 'storage.s3 (list)',
    provider: 's3',
    operation: 'ListObjectsV2',
    connect(resources) {
      const api = createS3Api(StorageConfig.parse(env()), resources);
      return { source: api.source, call: (n = 1) => api.listObjects({ prefix: `users/usr_${String(n).padStart(5, '0')}/`, maxKeys: 10 }) };
    },
    // S3 throttles with 503 SlowDown, no header.
    throttle: { status: 503, times: 1 },
    expect: READ,
  },
  {
    source: 'storage.s3 (head)',
    provider: 's3',
    operation: 'HeadObject',
    connect(resources) {
      const api = createS3Api(StorageConfig.parse(env()), resources);
      return { source: api.source, call: (n = 0) => api.headObject(`users/usr_00001/none-${n}.txt`) };
    },
    throttle: { status: 503, times: 1 },
    expect: READ,
  },
  {
    // Every event carries a messageId Segment deduplicates on: the POST is safe to repeat.
    source: providerEntry('segment').source,
    provider: 'segment',
    operation: 'segmentBatch',
    connect(resources) {
      const api = createSegmentApi(AnalyticsConfig.parse(env()), resources);
      const event = { id: 'matrix-event-1', userId: 'usr_00001', name: 'Matrix', occurredAt: new Date().toISOString(), properties: {} };
      return { source: api.source, call: () => api.batch([event]) };
    },
    throttle: retryAfter1s,
    expect: READ,
  },
  {
    // Two attempts; a 429 is not waited for (Mixpanel names no wait, and asks for long ones).
    source: providerEntry('mixpanel').source,
    provider: 'mixpanel',
    operation: 'mixpanelStream',
    connect(resources) {
      const api = createMixpanelApi(AnalyticsConfig.parse(env()), resources);
      return { source: api.source, call: (n = 1) => api.eventsOf([`usr_${String(n).padStart(5, '0')}`], '2026-01-01', '2026-01-31') };
    },
    throttle: retryAfter1s,
    expect: {
      failsTwice503: [2, 'UPSTREAM_UNAVAILABLE'],
      throttledOnce: [1, 'RATE_LIMITED'],
      resetOnce: [2],
      rejected: [1, 'UPSTREAM_REJECTED'],
      hangAttempts: [2, 2],
    },
  },
];

function newResources() {
  const resources = testResources();
  return { registry: resources.registry, resources };
}
const attempts = (row: Row) => sandbox.calls()[row.provider][row.operation] ?? 0;
/** Applies the rules to the row's operation only, keeping rules other rows set on the provider. */
function inject(rules: Map<Provider, FaultRule[]>, row: Row, rule: FaultRule) {
  rules.set(row.provider, [...(rules.get(row.provider) ?? []), { ...rule, operation: row.operation }]);
  sandbox.faults(row.provider, rules.get(row.provider)!);
}
async function outcome(row: Row, call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call();
    return [attempts(row)];
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return [attempts(row), error.code];
  }
}
async function runOnce(row: Row, rule: FaultRule): Promise<Outcome> {
  inject(new Map(), row, rule);
  return outcome(row, row.connect(newResources().resources).call);
}

describe.each(ROWS)('$source', (row) => {
  test('fails twice with 503, then answers', async () => {
    expect(await runOnce(row, { status: 503, times: 2 })).toEqual(row.expect.failsTwice503);
  });

  test('throttled once, the way this provider throttles', async () => {
    expect(await runOnce(row, row.throttle)).toEqual(row.expect.throttledOnce);
  });

  test('connection reset once', async () => {
    expect(await runOnce(row, { reset: true, times: 1 })).toEqual(row.expect.resetOnce);
  });

  test('a 400 is never retried', async () => {
    expect(await runOnce(row, { status: 400 })).toEqual(row.expect.rejected);
  });
});

// The slow and high-volume parts of the matrix run for all sources at once.
describe('every source at once', () => {
  test('a provider that never answers costs a timeout per attempt, within the deadline', async () => {
    const rules = new Map<Provider, FaultRule[]>();
    for (const row of ROWS) inject(rules, row, { hang: true });
    const results = await Promise.all(ROWS.map((row) => outcome(row, row.connect(newResources().resources).call)));
    for (const [i, row] of ROWS.entries()) {
      const [seen, code] = results[i]!;
      const [min, max] = row.expect.hangAttempts;
      expect({ source: row.source, code, inRange: seen >= min && seen <= max }).toEqual({
        source: row.source,
        code: 'UPSTREAM_TIMEOUT',
        inRange: true,
      });
    }
  }, 20_000);

  test('the circuit opens at the declared failure count, then fails fast with no upstream call', async () => {
    const rules = new Map<Provider, FaultRule[]>();
    for (const row of ROWS) inject(rules, row, { status: 503 });
    await Promise.all(
      ROWS.map(async (row) => {
        const { registry, resources } = newResources();
        const { source, call } = row.connect(resources);
        const declared = source.policy.breaker!;
        let opened = false;
        for (let i = 0; i < 40 && !opened; i++) opened = (await outcome(row, call))[1] === 'CIRCUIT_OPEN';
        const openedAt = attempts(row);
        // All calls fail: whichever declared trigger comes first opens it.
        const byRun = declared.consecutiveFailures ?? Infinity;
        const byRate = declared.failureRate !== undefined ? (declared.minimumRequests ?? 20) : Infinity;
        expect({ source: row.source, openedAt }).toEqual({ source: row.source, openedAt: Math.min(byRun, byRate) });
        expect(await outcome(row, call)).toEqual([openedAt, 'CIRCUIT_OPEN']);
        const metrics = await registry.metrics();
        expect(metrics).toContain(`patchbay_circuit_breaker_state{source="${source.name}",service="test"} 2`);
        expect(metrics).toContain(`patchbay_circuit_breaker_transitions_total{source="${source.name}",to="open",service="test"} 1`);
      }),
    );
  }, 30_000);

  test('the bulkhead runs its declared concurrency and queue, and refuses the rest at once', async () => {
    const rules = new Map<Provider, FaultRule[]>();
    for (const row of ROWS) inject(rules, row, { latencyMs: 50 });
    // One source at a time: hundreds of calls from all of them at once would load this
    // process enough to time attempts out, and the test is about admission, not load.
    for (const row of ROWS) {
      const { registry, resources } = newResources();
      const { source, call } = row.connect(resources);
      const { maxConcurrent, maxQueued } = source.policy.bulkhead!;
      const extra = 3;
      // Distinct calls: identical reads in flight would share one upstream call.
      const results = await Promise.all(Array.from({ length: maxConcurrent + maxQueued + extra }, (_, n) => outcome(row, () => call(n))));
      // Admission is decided as the calls are made, all in one tick: exactly the extra ones
      // are refused, whatever the machine's load. What the admitted ones then meet (an
      // answer, or a deadline on a loaded machine) is not the bulkhead's doing.
      const refused = results.filter(([, code]) => code === 'UPSTREAM_OVERLOADED').length;
      const peak = sandbox.providers[row.provider].calls.peakInFlight(row.operation);
      expect({ source: row.source, refused, peakWithinLimit: peak <= maxConcurrent, reached: attempts(row) > 0 }).toEqual({
        source: row.source,
        refused: extra,
        peakWithinLimit: true,
        reached: true,
      });
      expect(await registry.metrics()).toContain(`patchbay_bulkhead_rejections_total{source="${source.name}",service="test"} ${extra}`);
      sandbox.resetCalls();
    }
  }, 30_000);
});

describe('client-side rate limits', () => {
  test('Mixpanel queries past the hourly allowance fail RATE_LIMITED without a call, saying when to come back', async () => {
    const api = createMixpanelApi(AnalyticsConfig.parse({ ...env(), MIXPANEL_QUERIES_PER_HOUR: '2' }), newResources().resources);
    // Distinct queries: a repeated one would be answered from the cache.
    const query = (day: number) => api.eventsOf(['usr_00001'], '2026-01-01', `2026-01-0${day}`);
    await query(1);
    await query(2);
    const error = await query(3).then(
      () => undefined,
      (e: unknown) => e as UpstreamError,
    );
    expect(error?.extensions).toMatchObject({ code: 'RATE_LIMITED', source: providerEntry('mixpanel').source, retryable: true });
    // One token comes back every 30 minutes at 2 an hour.
    expect(error!.retryAfterMs).toBeGreaterThan(25 * 60_000);
    expect(sandbox.calls().mixpanel.mixpanelStream).toBe(2);
  });
});
