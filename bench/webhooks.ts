/**
 * What an unauthenticated webhook request costs the email subgraph: the compiled email process
 * (development mode, its committed webhook keys), sent 1 MB bodies it must refuse, one at a
 * time over a kept-alive connection, in five rounds that interleave the cases. Per case: the
 * process's CPU per request (from /proc: the median of the rounds, and the best round, which a
 * machine busy with something else inflates least) and the client's median time to the refusal. Beside them, what parsing such a body would have
 * cost (JSON.parse in this process): the work verifying first saves.
 *
 *   npm run bench:webhooks -- [--requests 200]
 */
import { createHmac } from 'node:crypto';
import { parseCommandLine, runCommand, wholeNumber } from '../kit/process/cli.js';
import { bareEnv, runToEnd, startProgram } from '../scripts/programs.js';
import { cpuSeconds } from './harness.js';

const usage = 'Usage: npm run bench:webhooks -- [--requests 200]';
const { values } = parseCommandLine({ options: { requests: { type: 'string', default: '200' } } }, usage);
const requests = wholeNumber('requests', values.requests, 10, 10_000);

const MB = 2 ** 20;
/** A megabyte of JSON nested as deep as it goes: the costliest body to parse. */
const nested = `${'['.repeat(MB / 2)}${']'.repeat(MB / 2)}`;
const now = () => String(Math.floor(Date.now() / 1000));
const mailgunBlock = (token: string) => ({
  timestamp: now(),
  token,
  signature: createHmac('sha256', 'not-the-key').update(`${now()}${token}`).digest('hex'),
});

/** Each case: where it goes, its headers and its 1 MB body. */
const CASES: Record<string, { path: string; headers: () => Record<string, string>; body: string }> = {
  'sendgrid, unsigned': { path: 'sendgrid', headers: () => ({}), body: nested },
  'sendgrid, forged signature': {
    path: 'sendgrid',
    headers: () => ({
      'x-twilio-email-event-webhook-timestamp': now(),
      'x-twilio-email-event-webhook-signature': Buffer.alloc(71, 7).toString('base64'),
    }),
    body: nested,
  },
  'sendgrid, stale timestamp': {
    path: 'sendgrid',
    headers: () => ({
      'x-twilio-email-event-webhook-timestamp': '1000000000',
      'x-twilio-email-event-webhook-signature': Buffer.alloc(71, 7).toString('base64'),
    }),
    body: nested,
  },
  'mailgun, forged signature': {
    path: 'mailgun',
    headers: () => ({}),
    body: `{"signature":${JSON.stringify(mailgunBlock('t'.repeat(50)))},"event-data":${nested.slice(0, MB - 200)}}`,
  },
  'mailgun, no signature': { path: 'mailgun', headers: () => ({}), body: nested },
  'postmark, wrong credentials': {
    path: 'postmark',
    headers: () => ({ authorization: `Basic ${Buffer.from('someone:guess').toString('base64')}` }),
    body: nested,
  },
};

await runCommand('bench:webhooks', async () => {
  const build = await runToEnd(['npm', 'run', '-s', 'build'], process.env, { timeoutMs: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  const email = await startProgram(['node', 'dist/scripts/run-subgraph.js', 'email'], bareEnv({ EMAIL_PORT: '0', LOG_LEVEL: 'info' }));
  try {
    const parseStartedAt = performance.now();
    for (let i = 0; i < 20; i++) JSON.parse(nested);
    const parseMs = (performance.now() - parseStartedAt) / 20;
    console.log(`${requests} refused 1 MB webhook requests per case, one at a time (node ${process.version}; email subgraph compiled)`);
    console.log(`JSON.parse of one such body, which verifying first no longer spends: ${parseMs.toFixed(1)} ms\n`);
    console.log('case                          status   CPU per request: median   best round   client p50');
    const send = (name: string) => {
      const { path, headers, body } = CASES[name]!;
      return fetch(`${email.url}/webhooks/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers() },
        body,
      });
    };
    const names = Object.keys(CASES);
    for (const name of names) for (let i = 0; i < 50; i++) await (await send(name)).arrayBuffer();
    // Rounds interleave the cases, so that a machine busier at one moment does not favour one.
    const ROUNDS = 5;
    const results = new Map(names.map((name) => [name, { cpuMs: [] as number[], times: [] as number[], status: 0 }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names) {
        const result = results.get(name)!;
        const cpuBefore = cpuSeconds(email);
        const perRound = Math.ceil(requests / ROUNDS);
        for (let i = 0; i < perRound; i++) {
          const startedAt = performance.now();
          const response = await send(name);
          await response.arrayBuffer();
          result.times.push(performance.now() - startedAt);
          result.status = response.status;
        }
        result.cpuMs.push(((cpuSeconds(email) - cpuBefore) * 1000) / perRound);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    for (const [name, { cpuMs, times, status }] of results) {
      const cpu = `${median(cpuMs).toFixed(2)} ms`.padStart(23);
      const best = `${Math.min(...cpuMs).toFixed(2)} ms`.padStart(12);
      console.log(`${name.padEnd(30)} ${String(status).padEnd(8)} ${cpu} ${best} ${`${median(times).toFixed(2)} ms`.padStart(12)}`);
    }
  } finally {
    await email.stop();
  }
});
