import { localUrl } from '../kit/local-defaults.js';

/**
 * Every subgraph and the providers it wraps, declared once. Ports, the sandbox, the stack,
 * `npm start`, the upstream-call budgets and codegen derive from this list. A subgraph is its
 * folder (subgraphs/<name>/, whose index.ts exports `subgraph`), its sandbox providers
 * (sandbox/<provider>.ts, each exporting `sandboxProvider`) and one entry here. Data only:
 * production code reads it without loading the sandbox.
 */
export interface SubgraphEntry {
  /** Where it listens locally: `<NAME>_PORT` (its metrics on port + 1000). */
  port: number;
  /** The upstream providers it calls, by name. */
  providers: Record<string, ProviderEntry>;
  /** graphql-codegen mappers of its resolver types: GraphQL type -> type exported by its loaders.ts. */
  mappers?: Record<string, string>;
}

export interface ProviderEntry {
  /** Where the sandbox serves it: `SANDBOX_<PROVIDER>_PORT`. */
  sandboxPort: number;
  /** The source (kit `source({ name })`) that calls it, as budgets and metrics name it. */
  source: string;
}

export const REGISTRY = {
  accounts: {
    port: 4011,
    providers: { accounts: { sandboxPort: 4021, source: 'accounts.api' } },
  },
  email: {
    port: 4012,
    providers: {
      sendgrid: { sandboxPort: 4022, source: 'email.sendgrid' },
      postmark: { sandboxPort: 4025, source: 'email.postmark' },
      mailgun: { sandboxPort: 4027, source: 'email.mailgun' },
    },
    mappers: { User: 'UserReference' },
  },
  storage: {
    port: 4013,
    providers: { s3: { sandboxPort: 4023, source: 'storage.s3' } },
    mappers: { File: 'FileRecord' },
  },
  analytics: {
    port: 4014,
    providers: {
      segment: { sandboxPort: 4024, source: 'analytics.segment' },
      mixpanel: { sandboxPort: 4026, source: 'analytics.mixpanel' },
    },
  },
} as const satisfies Record<string, SubgraphEntry>;

export type SubgraphName = keyof typeof REGISTRY;
type ProvidersOf<S extends SubgraphName> = keyof (typeof REGISTRY)[S]['providers'];
export type ProviderName = { [S in SubgraphName]: ProvidersOf<S> }[SubgraphName] & string;

export const SUBGRAPH_NAMES = Object.keys(REGISTRY) as SubgraphName[];

/** Every provider with the subgraph that calls it, in registry order. */
export const PROVIDERS: ReadonlyArray<{ name: ProviderName; subgraph: SubgraphName } & ProviderEntry> = SUBGRAPH_NAMES.flatMap((subgraph) =>
  Object.entries(REGISTRY[subgraph].providers as Record<string, ProviderEntry>).map(([name, entry]) => ({
    name: name as ProviderName,
    subgraph,
    ...entry,
  })),
);

const envName = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
/** `ACCOUNTS_PORT`: a subgraph's port variable. */
export const subgraphPortVariable = (subgraph: string) => `${envName(subgraph)}_PORT`;
/** `SANDBOX_SENDGRID_PORT`: where the sandbox serves a provider. */
export const sandboxPortVariable = (provider: string) => `SANDBOX_${envName(provider)}_PORT`;

export const providerEntry = (provider: ProviderName) => PROVIDERS.find((p) => p.name === provider)!;
/** A provider's sandbox on its local port: the default upstream URL of local development. */
export const sandboxUrl = (provider: ProviderName) => localUrl(providerEntry(provider).sandboxPort);
