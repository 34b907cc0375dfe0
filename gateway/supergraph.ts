import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getStitchedSchemaFromSupergraphSdl } from '@graphql-tools/federation';
import { Kind, parse, type DocumentNode } from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError } from '../kit/process/config.js';
import type { Logger } from '../kit/process/logger.js';
import { createSourceMetrics } from '../kit/process/metrics.js';
import { createSource } from '../kit/source/index.js';
import { messageOf, stringPropertyOf } from '../kit/process/caught.js';
import { watchPath } from './watch.js';

/** Where a gateway's supergraph comes from: a file (a ConfigMap, a volume) or a URL. */
export type SupergraphLocation = { path: string } | { url: string; pollMs: number };

/**
 * The supergraph a gateway serves, kept current: a file is watched (and re-read every few
 * seconds, which also catches a ConfigMap's symlink swap), a URL is polled. A new supergraph
 * replaces the current one only once it builds; one that does not is refused, logged and
 * counted, and the current one keeps serving.
 */
export interface SupergraphSource {
  /** The supergraph SDL being served. */
  current(): string;
  /** The same, parsed once per supergraph (what the engine is given: never a string it could take for a path). */
  document(): DocumentNode;
  /** Starts watching; `onChange` runs after a valid new supergraph became current. */
  watch(onChange: () => void): void;
  close(): void;
}

const FETCH_TIMEOUT_MS = 10_000;

/**
 * A schema registry's URL is an upstream like any other: polled through the source layer
 * (a timeout, safe retries, a breaker, metrics and a span per poll).
 */
function registryReader(location: { url: string; pollMs: number }, logger: Logger, registry: Registry) {
  const url = new URL(location.url);
  const source = createSource({
    name: 'gateway.supergraph',
    baseUrl: url.origin,
    timeoutMs: FETCH_TIMEOUT_MS,
    retry: { attempts: 2, on: [429, 500, 502, 503, 504] },
    breaker: { consecutiveFailures: 5, halfOpenAfterMs: location.pollMs },
    logger,
    metrics: createSourceMetrics(registry),
  });
  const request = { operation: 'supergraph', path: url.pathname, query: Object.fromEntries(url.searchParams) };
  return { read: async () => (await source.request(request)).text(), close: () => source.close() };
}

const JOIN_SPEC = 'https://specs.apollo.dev/join/';

/** Why a supergraph cannot be served, or undefined when it can: it parses, names its subgraphs, and builds. */
export function supergraphProblem(sdl: string): string | undefined {
  try {
    const document = parse(sdl);
    const joinsSubgraphs = document.definitions.some(
      (definition) =>
        definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph' && (definition.values?.length ?? 0) > 0,
    );
    if (!sdl.includes(JOIN_SPEC) || !joinsSubgraphs) return 'not a federation supergraph: no join__Graph naming its subgraphs';
    getStitchedSchemaFromSupergraphSdl({ supergraphSdl: document });
    return undefined;
  } catch (error) {
    return messageOf(error).split('\n')[0]!.slice(0, 300);
  }
}

const digest = (sdl: string) => createHash('sha256').update(sdl).digest('hex');

export async function openSupergraph(
  location: SupergraphLocation,
  options: { variable: string; logger: Logger; registry: Registry },
): Promise<SupergraphSource> {
  const { logger } = options;
  const reloads = new Counter({
    name: 'patchbay_supergraph_reloads_total',
    help: 'Supergraph changes seen: applied, or refused because the new one does not build (or could not be read)',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  const loadedAt = new Gauge({
    name: 'patchbay_supergraph_loaded_timestamp_seconds',
    help: 'When the supergraph being served was loaded',
    registers: [options.registry],
  });

  const reader =
    'path' in location
      ? { read: async () => readFileSync(location.path, 'utf8'), close: () => {} }
      : registryReader(location, logger, options.registry);
  const { read } = reader;

  let sdl: string;
  try {
    sdl = await read();
  } catch (error) {
    throw new ConfigError([`${options.variable}: cannot read the supergraph (${stringPropertyOf(error, 'code') ?? messageOf(error)})`]);
  }
  const problem = supergraphProblem(sdl);
  if (problem) throw new ConfigError([`${options.variable}: not a supergraph this gateway can serve (${problem})`]);
  let current = { sdl, digest: digest(sdl), document: parse(sdl) };
  loadedAt.setToCurrentTime();

  let timer: NodeJS.Timeout | undefined;
  let watcher: { close(): void } | undefined;
  let checking = false;
  let onChange = () => {};

  async function check(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const next = await read();
      const nextDigest = digest(next);
      if (nextDigest === current.digest) return;
      const invalid = supergraphProblem(next);
      if (invalid) {
        // Remembered, so an unchanged bad file is refused (and logged) once.
        current = { ...current, digest: nextDigest };
        reloads.inc({ outcome: 'refused' });
        logger.error({ problem: invalid }, 'new supergraph refused; the current one keeps serving');
        return;
      }
      current = { sdl: next, digest: nextDigest, document: parse(next) };
      reloads.inc({ outcome: 'applied' });
      loadedAt.setToCurrentTime();
      logger.info({ digest: nextDigest.slice(0, 12) }, 'new supergraph applied');
      onChange();
    } catch (error) {
      reloads.inc({ outcome: 'unreadable' });
      logger.warn({ err: messageOf(error) }, 'supergraph could not be read; the current one keeps serving');
    } finally {
      checking = false;
    }
  }

  return {
    current: () => current.sdl,
    document: () => current.document,
    watch(handler) {
      onChange = handler;
      if ('path' in location) {
        watcher = watchPath(location.path, () => void check(), logger);
      } else {
        timer = setInterval(() => void check(), location.pollMs);
        timer.unref();
      }
    },
    close() {
      clearInterval(timer);
      watcher?.close();
      reader.close();
    },
  };
}
