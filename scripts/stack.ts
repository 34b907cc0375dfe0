import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENTS } from '../gateway/clients/index.js';
import { startGateway } from '../gateway/index.js';
import { clientVariable, subgraphUrlVariable } from '../gateway/settings.js';
import type { RunningService } from '../kit/process/service.js';
import { startSubgraph } from '../kit/subgraph/server.js';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { PROVIDERS, SUBGRAPH_NAMES, sandboxPortVariable, subgraphPortVariable } from '../subgraphs/registry.js';

export interface Stack {
  sandbox: Sandbox;
  subgraphs: Record<string, RunningService>;
  gateways: Record<string, RunningService>;
  /** `<NAME>_SUBGRAPH_URL` of every subgraph, to start another gateway on this stack. */
  subgraphUrls: Record<string, string>;
  services: RunningService[];
  close(): Promise<void>;
}

/**
 * The whole local stack in one process: sandbox providers, every subgraph pointed at
 * them, and one gateway per client pointed at the subgraphs. With `freePorts`, every
 * server takes a free port (tests, benchmarks); otherwise the documented defaults.
 */
export async function startStack(options: { freePorts?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Stack> {
  const base = { ...process.env, ...options.env };
  const port = (name: string) => (options.freePorts ? { [name]: '0' } : {});
  const started: RunningService[] = [];
  // Stacks on free ports (tests, benchmarks) each get an outbox of their own, gone with them.
  const ownOutbox = options.freePorts && !base.OUTBOX_DIR ? mkdtempSync(join(tmpdir(), 'patchbay-outbox-')) : undefined;
  const outbox = ownOutbox ? { OUTBOX_DIR: ownOutbox } : {};
  const stop = () =>
    Promise.allSettled([...started].reverse().map((s) => s.close())).then(() => {
      if (ownOutbox) rmSync(ownOutbox, { recursive: true, force: true });
    });
  try {
    const sandbox = await startSandbox({
      ...base,
      ...Object.assign({}, ...PROVIDERS.map((provider) => port(sandboxPortVariable(provider.name)))),
    });
    started.push({ name: 'sandbox', url: '', port: 0, drain: () => {}, close: sandbox.close });

    const subgraphs: Record<string, RunningService> = {};
    for (const definition of SUBGRAPHS) {
      const service = await startSubgraph(definition, {
        ...sandbox.env(),
        ...outbox,
        ...base,
        ...port(subgraphPortVariable(definition.name)),
      });
      subgraphs[definition.name] = service;
      started.push(service);
    }
    for (const name of SUBGRAPH_NAMES) sandbox.deliverWebhooksTo(name, subgraphs[name]?.url);
    const subgraphUrls = Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [subgraphUrlVariable(name), `${s.url}/graphql`]));
    const gateways: Record<string, RunningService> = {};
    for (const client of CLIENTS) {
      const service = await startGateway(client, { ...subgraphUrls, ...base, ...port(clientVariable(client, 'GATEWAY_PORT')) });
      gateways[client.name] = service;
      started.push(service);
    }
    return { sandbox, subgraphs, gateways, subgraphUrls, services: [...sandbox.services, ...started.slice(1)], close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
