import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { clientByName } from '../gateway/clients/index.js';
import { clientVariable } from '../gateway/settings.js';
import { messageOf } from '../kit/process/caught.js';
import { PROVIDERS, REGISTRY, sandboxPortVariable, subgraphPortVariable, type SubgraphName } from '../subgraphs/registry.js';

/**
 * The container's health check: exits 0 when the service in this container answers /healthz
 * with 200 within two seconds, else 1. Its port is the argument, else HEALTHCHECK_PORT, else
 * the port of the patchbay program running beside it (found in /proc, in the same working
 * directory: a gateway, a subgraph or the sandbox, with the port variable that program reads,
 * or its default), else the web
 * gateway's. It reads nothing else, so it cannot fail on the service's own configuration.
 */

/** The port a patchbay program given these arguments listens on, in this environment. */
function portOf(args: readonly string[]): string | undefined {
  const at = (suffix: string) => args.findIndex((arg) => arg.endsWith(suffix));
  const gateway = at('gateway/index.js');
  if (gateway >= 0) {
    const client = clientByName(args[gateway + 1] ?? process.env.GATEWAY_CLIENT ?? '');
    return client && (process.env[clientVariable(client, 'GATEWAY_PORT')] ?? String(client.defaultPort));
  }
  const subgraph = at('run-subgraph.js');
  if (subgraph >= 0) {
    const name = args[subgraph + 1];
    if (!name || !(name in REGISTRY)) return undefined;
    return process.env[subgraphPortVariable(name)] ?? String(REGISTRY[name as SubgraphName].port);
  }
  // The sandbox serves each provider on its own port; the first one answers for all.
  if (at('sandbox/index.js') >= 0) return process.env[sandboxPortVariable(PROVIDERS[0]!.name)] ?? String(PROVIDERS[0]!.sandboxPort);
  return undefined;
}

/** The port of the patchbay program running in this container, from each process's command line. */
function programPort(): string | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  } catch {
    return undefined; // no /proc: not Linux
  }
  const here = process.cwd();
  for (const pid of pids) {
    try {
      // Beside it: in the same working directory (the image's WORKDIR), not any program of the host.
      if (readlinkSync(`/proc/${pid}/cwd`) !== here) continue;
      const port = portOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      if (port) return port;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

const given = process.argv[2] ?? process.env.HEALTHCHECK_PORT ?? programPort() ?? '4000';
const port = Number(given);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`healthcheck: "${given}" is not a port number\n`);
  process.exit(2);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: port ${port}: ${messageOf(error)}\n`);
  process.exit(1);
}
