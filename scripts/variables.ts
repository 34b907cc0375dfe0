/**
 * Every environment variable a patchbay program reads, with the programs that read it and
 * what production asks of it (kit/process/config.ts's rules), from the configuration schemas
 * themselves: `npm run secrets`, `.env.example` and the README's configuration table are
 * checked against this list, so none of them can drift from the code.
 */
import { z } from 'zod';
import { CLIENTS } from '../gateway/clients/index.js';
import { GatewayConfig, clientSchema, clientVariable, subgraphUrlVariable } from '../gateway/settings.js';
import { productionRules, type ProductionRule } from '../kit/process/config.js';
import { SubgraphServerConfig, portsOf } from '../kit/subgraph/server.js';
import { SandboxCredentials } from '../sandbox/credentials.js';
import { SandboxConfig, webhooksUrlVariable } from '../sandbox/index.js';
import { SUBGRAPHS } from '../subgraphs/index.js';
import { PROVIDERS, SUBGRAPH_NAMES, sandboxPortVariable } from '../subgraphs/registry.js';
import { envName } from '../kit/process/env-name.js';

export interface Setting {
  name: string;
  /** The programs that read it: `gateway-web`, `subgraph-email`, `sandbox`, `healthcheck`, ... */
  programs: string[];
  /** What production asks of it, in the programs that run in production (the sandbox does not). */
  rule: ProductionRule;
  generate?: () => string | Record<string, string>;
}

const STRICTNESS: Record<ProductionRule, number> = { optional: 0, required: 1, secret: 2 };

export function settings(): Setting[] {
  const found = new Map<string, Setting>();
  const add = (program: string, schema: z.ZodObject, prefix = '') => {
    for (const { name, rule, generate } of productionRules(schema)) {
      const key = prefix + name;
      const setting = found.get(key) ?? { name: key, programs: [], rule: 'optional' as ProductionRule };
      setting.programs.push(program);
      const productionRule = program === 'sandbox' ? 'optional' : rule;
      if (STRICTNESS[productionRule] > STRICTNESS[setting.rule]) Object.assign(setting, { rule: productionRule, generate });
      found.set(key, setting);
    }
  };
  const optional = (program: string, names: string[]) =>
    add(program, z.object(Object.fromEntries(names.map((name) => [name, z.string().optional()]))));
  for (const client of CLIENTS) {
    const program = `gateway-${client.name}`;
    add(program, GatewayConfig);
    add(program, clientSchema(client, true), clientVariable(client, ''));
    optional(program, SUBGRAPH_NAMES.map(subgraphUrlVariable));
  }
  for (const definition of SUBGRAPHS) {
    const program = `subgraph-${definition.name}`;
    add(program, SubgraphServerConfig);
    add(program, portsOf(definition), `${envName(definition.name)}_`);
    add(program, definition.config);
  }
  add('sandbox', SandboxConfig);
  add('sandbox', SandboxCredentials);
  optional('sandbox', [...PROVIDERS.map((provider) => sandboxPortVariable(provider.name)), ...SUBGRAPH_NAMES.map(webhooksUrlVariable)]);
  optional('healthcheck', ['HEALTHCHECK_PORT']);
  optional('gateway', ['GATEWAY_CLIENT']);
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}
