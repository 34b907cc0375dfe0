import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { persistedQueryHash } from '../manifest.js';
import { requestError } from '../errors.js';
import semver from 'semver';
import type { readManifest } from '../manifest.js';
import { appVersionOf, type ServedReleases } from '../releases.js';

const ID_REQUIRED = 'This endpoint runs persisted operations only: send extensions.persistedQuery.sha256Hash';

/**
 * Safelisting: only the operations of the client's manifest and of its supported releases run,
 * named by id (the APQ extension Apollo's clients send). An app of a known release that runs an
 * id of another release is served, and counted. The manifest's text runs for an id, whatever text came
 * along; a raw query or an id the manifest lacks is refused before parsing, and nothing is
 * registered at run time. Yoga's persisted-operations plugin does the work; the first plugin
 * drops text sent with an id, so that the id alone decides.
 */
/** The operations that may run, as last loaded (replaced whole when the releases change). */
export interface SafelistOperations {
  /** Operation text by id: the current operations' and every supported release's. */
  bodies: ReadonlyMap<string, string>;
  /** The releases that hold each id (an id of the current operations alone is in none). */
  releasesOf: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every release served. */
  releases: ReadonlySet<string>;
  /** Operation names by id, and the operations older apps may no longer run (releases.json `operations`). */
  names: ReadonlyMap<string, string>;
  operationMinimums: Readonly<Record<string, { minimumVersion: string; reason: string }>>;
}

/** What a safelist serves: the client's current operations and its served releases', merged once per load. */
export function safelistOperations(current: ReturnType<typeof readManifest>, { releases, policy }: ServedReleases): SafelistOperations {
  return {
    bodies: new Map([...releases.bodies, ...current.bodies]),
    releasesOf: releases.releasesOf,
    releases: new Set(releases.versions),
    names: new Map([...releases.names, ...current.ids]),
    operationMinimums: policy.operations ?? {},
  };
}

export interface Safelist {
  operations(): SafelistOperations;
  /** Called when an app of a known release runs an id its release does not hold (served all the same). */
  onMismatch?: (appVersion: string) => void;
  onUpgradeRequired?: () => void;
}

export function useSafelist({ operations, onMismatch, onUpgradeRequired }: Safelist): GatewayPlugin[] {
  return [
    {
      onParams({ params, setParams }) {
        if (params.query && persistedQueryHash(params.extensions)) setParams({ ...params, query: undefined });
      },
    },
    usePersistedOperations({
      getPersistedOperation: (id, request) => {
        const { bodies, releasesOf, releases, names, operationMinimums } = operations();
        const body = bodies.get(id);
        const appVersion = appVersionOf(request.headers.get('x-app-version'));
        if (body && appVersion && releases.has(appVersion) && !releasesOf.get(id)?.has(appVersion)) onMismatch?.(appVersion);
        const operation = names.get(id);
        const minimum = operation === undefined ? undefined : operationMinimums[operation];
        if (body && appVersion && minimum && semver.lt(appVersion, minimum.minimumVersion)) {
          onUpgradeRequired?.();
          throw requestError(
            `${operation} needs app version ${minimum.minimumVersion} or later: ${minimum.reason}`,
            'UPGRADE_REQUIRED',
            { minimumVersion: minimum.minimumVersion, appVersion, operation },
            200,
          );
        }
        return body ?? null;
      },
      allowArbitraryOperations: false,
      customErrors: {
        persistedQueryOnly: () => requestError(ID_REQUIRED, 'PERSISTED_QUERY_ID_REQUIRED'),
        keyNotFound: () => requestError(ID_REQUIRED, 'PERSISTED_QUERY_ID_REQUIRED'),
        notFound: ({ params }) =>
          requestError(
            `No persisted operation has the id ${String(persistedQueryHash(params.extensions)).slice(0, 64)}`,
            'PERSISTED_QUERY_NOT_IN_LIST',
          ),
      },
    }) as GatewayPlugin, // a Yoga plugin: its server-adapter hooks are typed for Yoga's context, not the gateway's
  ];
}
