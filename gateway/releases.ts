import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, validate, type GraphQLSchema } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import semver from 'semver';
import { z } from 'zod';
import { messageOf } from '../kit/process/caught.js';
import { ConfigError } from '../kit/process/config.js';
import type { Logger } from '../kit/process/logger.js';
import { Manifest } from './manifest.js';
import { watchPath } from './watch.js';

/**
 * A client's releases: what each shipped app version runs, frozen when it shipped
 * (`npm run release -- <client> <version>`: clients/<client>/releases/<version>.json, Apollo's
 * manifest format), and the oldest version still served (releases.json). The gateway serves
 * every supported release's operations by id, so a phone that has not updated keeps working
 * after the current operations move on.
 */
const semverString = z.string().refine((value) => semver.valid(value) !== null, 'must be a version like 1.4.0');

export const ReleasePolicy = z.object({
  /** Older app versions are answered UPGRADE_REQUIRED before anything runs. */
  minimumVersion: z
    .string()
    .refine((value) => semver.valid(value) !== null, 'must be a version like 1.4.0')
    .optional(),
  /**
   * Operations an older app runs in a way the schema no longer takes, by name: apps before
   * `minimumVersion` get UPGRADE_REQUIRED for that operation alone (with the reason), and keep
   * the rest. For a change in what an operation sends (a now-required input field), which its
   * unchanged text cannot show.
   */
  operations: z.record(z.string(), z.object({ minimumVersion: semverString, reason: z.string().min(10) })).optional(),
  /** Releases retired while they still had traffic, with why (`npm run release:retire -- --force`). */
  forced: z.array(z.object({ version: z.string(), reason: z.string(), share: z.number() })).optional(),
});
export type ReleasePolicy = z.infer<typeof ReleasePolicy>;

export const POLICY_FILE = 'releases.json';

export interface Releases {
  /** Supported versions, oldest first. */
  versions: string[];
  minimumVersion?: string;
  /** Operation text by id, of every supported release. */
  bodies: Map<string, string>;
  /** The releases that hold each id. */
  releasesOf: Map<string, Set<string>>;
  /** Operation names by id, for labels. */
  names: Map<string, string>;
}

/** Where a client's releases are committed. */
export const releasesDir = (client: string) => fileURLToPath(new URL(`../clients/${client}/releases/`, import.meta.url));

const versionOf = (file: string) => file.replace(/\.json$/, '');

/** The committed release policy of a directory (none: every release is supported). */
export function readReleasePolicy(dir: string): ReleasePolicy {
  const file = join(dir, POLICY_FILE);
  return existsSync(file) ? ReleasePolicy.parse(JSON.parse(readFileSync(file, 'utf8'))) : {};
}

/**
 * Reads a directory of releases: every `<version>.json` at or above the minimum. An id whose
 * text is not the text it hashes, or a file that is not a manifest, fails the load with the file
 * named: one id is one text in every release.
 */
export function readReleases(dir: string, minimumVersion = readReleasePolicy(dir).minimumVersion): Releases {
  const releases: Releases = { versions: [], minimumVersion, bodies: new Map(), releasesOf: new Map(), names: new Map() };
  if (!existsSync(dir)) return releases;
  const files = readdirSync(dir).filter((file) => file.endsWith('.json') && file !== POLICY_FILE);
  for (const file of files) {
    if (!semver.valid(versionOf(file))) throw new Error(`${join(dir, file)}: a release is named by its version (1.4.0.json)`);
  }
  const supported = files
    .map(versionOf)
    .filter((version) => !minimumVersion || semver.gte(version, minimumVersion))
    .sort(semver.compare);
  for (const version of supported) {
    const file = join(dir, `${version}.json`);
    const manifest = Manifest.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!manifest.success) throw new Error(`${file}: not a persisted query manifest (${manifest.error.issues[0]?.message})`);
    for (const operation of manifest.data.operations) {
      if (createHash('sha256').update(operation.body).digest('hex') !== operation.id)
        throw new Error(`${file}: ${operation.name}'s id is not the hash of its text`);
      releases.bodies.set(operation.id, operation.body);
      releases.names.set(operation.id, operation.name);
      (releases.releasesOf.get(operation.id) ?? releases.releasesOf.set(operation.id, new Set()).get(operation.id)!).add(version);
    }
    releases.versions.push(version);
  }
  return releases;
}

/** What a gateway serves of a client's releases, as last loaded. */
export interface ServedReleases {
  policy: ReleasePolicy;
  /** The oldest app version served: the environment's override, else the policy's. */
  minimumVersion?: string;
  releases: Releases;
}

/** A directory's releases with its policy; throws, naming the file, when any of it is not valid. */
export function loadReleases(dir: string, minimumOverride?: string): ServedReleases {
  const policy = readReleasePolicy(dir);
  const minimumVersion = minimumOverride ?? policy.minimumVersion;
  return { policy, minimumVersion, releases: readReleases(dir, minimumVersion) };
}

/** What a directory of releases holds, as one digest: a change of any file changes it. */
function digestOf(dir: string): string {
  const hash = createHash('sha256');
  if (!existsSync(dir)) return '';
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(dir, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

/**
 * A client's releases, kept current: loaded at start (a directory that does not load refuses
 * the start, naming `variable`), then watched like the supergraph (a file added by a release, a
 * minimum raised, a ConfigMap updated). A change that does not load is refused, logged and
 * counted, and what was loaded keeps serving.
 */
export function openReleases(
  dir: string,
  options: { minimumOverride?: string; variable: string; logger: Logger; registry: Registry },
): { current(): ServedReleases; watch(onChange: (served: ServedReleases) => void): void; close(): void } {
  const { logger } = options;
  const reloads = new Counter({
    name: 'patchbay_gateway_releases_reloads_total',
    help: 'Changes seen to the served releases: applied, or refused because they do not load (the previous ones keep serving)',
    labelNames: ['outcome'] as const,
    registers: [options.registry],
  });
  let digest = digestOf(dir);
  let served: ServedReleases;
  try {
    served = loadReleases(dir, options.minimumOverride);
  } catch (error) {
    throw new ConfigError([`${options.variable}: the releases in ${dir} do not load (${messageOf(error)})`]);
  }
  let watcher: { close(): void } | undefined;
  return {
    current: () => served,
    watch(onChange) {
      watcher = watchPath(
        dir,
        () => {
          const next = digestOf(dir);
          if (next === digest) return;
          // Remembered even when refused, so that an unchanged bad directory is logged once.
          digest = next;
          try {
            served = loadReleases(dir, options.minimumOverride);
          } catch (error) {
            reloads.inc({ outcome: 'refused' });
            logger.error({ err: messageOf(error) }, 'changed releases refused; the ones loaded before keep serving');
            return;
          }
          reloads.inc({ outcome: 'applied' });
          logger.info({ releases: served.releases.versions, minimumAppVersion: served.minimumVersion }, 'releases reloaded');
          onChange(served);
        },
        logger,
      );
    },
    close: () => watcher?.close(),
  };
}

/**
 * The operations of the releases that no longer validate against the schema now served: what an
 * app in users' hands would fail on, known at load instead of by its user.
 */
export function invalidReleaseOperations(
  releases: Releases,
  schema: GraphQLSchema,
): Array<{ releases: string[]; operation: string; error: string }> {
  return [...releases.bodies].flatMap(([id, body]) => {
    const errors = validate(schema, parse(body));
    return errors.length
      ? [{ releases: [...releases.releasesOf.get(id)!], operation: releases.names.get(id)!, error: errors[0]!.message }]
      : [];
  });
}

/** An app's version from its header (`1.4.0`, `1.4.0 (1203)`, `v1.4`); undefined when it names none. */
export const appVersionOf = (header: string | null | undefined): string | undefined =>
  header ? (semver.coerce(header)?.version ?? undefined) : undefined;
