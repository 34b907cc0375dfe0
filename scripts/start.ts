import { ConfigError } from '../kit/process/config.js';
import { PROVIDERS } from '../subgraphs/registry.js';
import { startStack } from './stack.js';
import { messageOf } from '../kit/process/caught.js';

/** `npm start`: the whole stack on its local defaults, until Ctrl-C. */
let stack;
try {
  stack = await startStack({ env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `patchbay failed to start: ${messageOf(error)}`}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
// performance.now() counts from process start: this is the whole cold start, loading included.
const ms = Math.round(performance.now());
const line = (label: string, url: string, metricsUrl?: string) =>
  `  ${label.padEnd(22)} ${url.padEnd(36)}${metricsUrl ? ` metrics ${metricsUrl}/metrics` : ''}`.trimEnd();
process.stdout.write(
  [
    `patchbay is up in ${ms} ms`,
    'gateways:',
    ...Object.entries(stack.gateways).map(([name, s]) => line(name, `${s.url}/graphql`, s.metricsUrl)),
    'subgraphs:',
    ...Object.entries(stack.subgraphs).map(([name, s]) => line(name, `${s.url}/graphql`, s.metricsUrl)),
    'sandbox providers:',
    ...PROVIDERS.map(({ name }) => line(name, stack.sandbox.url(name))),
    'every request needs a token: TOKEN=$(npm run -s token -- usr_00001) (README: one query to try)',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping...\n');
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
