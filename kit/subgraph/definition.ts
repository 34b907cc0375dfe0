import { readFileSync } from 'node:fs';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Caller } from '../caller/token.js';
import type { Logger } from '../process/logger.js';
import type { SubgraphResources } from '../source/resources.js';

export type { SubgraphResources } from '../source/resources.js';

/** Per-request context of every subgraph resolver. */
export interface SubgraphContext<Dependencies, Loaders> {
  requestId: string;
  /** Who is calling, as the gateway vouches; every request has one. */
  caller: Caller;
  /** The client's Idempotency-Key header, passed on by the gateway, if any. */
  idempotencyKey?: string;
  /** Aborted when the request's connection goes: a subscription's streams end with it. */
  signal: AbortSignal;
  logger: Logger;
  dependencies: Dependencies;
  loaders: Loaders;
}

export interface SubgraphDefinition<Config extends z.ZodObject, Dependencies, Loaders> {
  /** Lower-case name; also the prefix of its environment variables (`ACCOUNTS_PORT`). */
  name: string;
  defaultPort: number;
  schemaFile: URL;
  /** Environment variables of this subgraph (upstream URLs, credentials). */
  config: Config;
  resolvers: object;
  /** The subgraph's upstream clients and stores, built with the resources so that it runs their lifecycle. */
  createDependencies: (config: z.infer<Config>, resources: SubgraphResources) => Dependencies;
  /** Extra HTTP routes of the subgraph's process (provider webhooks), beside /graphql. */
  routes?: (app: Express, context: { config: z.infer<Config>; dependencies: Dependencies; logger: Logger; registry: Registry }) => void;
  /** Called once per GraphQL request: loaders never share a cache between requests. */
  createLoaders: (dependencies: Dependencies) => Loaders;
}

export function defineSubgraph<Config extends z.ZodObject, Dependencies, Loaders>(
  definition: SubgraphDefinition<Config, Dependencies, Loaders>,
): SubgraphDefinition<Config, Dependencies, Loaders> {
  return definition;
}

export function readSchema(file: URL): string {
  return readFileSync(file, 'utf8');
}

/** Any subgraph, whatever its config, dependencies and loaders (for code that runs them all). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each subgraph has its own config, dependencies and loaders types
export type AnySubgraphDefinition = SubgraphDefinition<any, any, any>;
