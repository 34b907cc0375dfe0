import { envName } from '../kit/process/env-name.js';
import { localUrl } from '../kit/process/local-defaults.js';

/**
 * Every subgraph and the providers it wraps, declared once. Ports, the sandbox, the stack,
 * `npm start`, the upstream-call budgets and codegen derive from this list. A subgraph is its
 * folder (subgraphs/<name>/, whose index.ts exports `subgraph`), its sandbox providers
 * (sandbox/<provider>.ts, each exporting `sandboxProvider`) and one entry here. Data only:
 * production code reads it without loading the sandbox.
 *
 * A provider's entry is the one place of its source's name and of the sandbox's port and
 * committed account: its config defaults to them locally, the sandbox accepts them, and
 * kit/process/committed-secrets.ts refuses its credentials in production.
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
  /** The source (resources `source({ name })`) that calls it, as budgets and metrics name it. */
  source: string;
  /** The sandbox account's secrets: the local defaults of its credential variables, refused in production. */
  credentials: Record<string, string>;
  /** The sandbox account's names that are not secret (a domain, a bucket), the local defaults of their variables. */
  account?: Record<string, string>;
}

export const REGISTRY = {
  accounts: {
    port: 4011,
    providers: { accounts: { sandboxPort: 4021, source: 'accounts.api', credentials: { token: 'sandbox-accounts-token' } } },
  },
  email: {
    port: 4012,
    providers: {
      sendgrid: {
        sandboxPort: 4022,
        source: 'email.sendgrid',
        credentials: {
          apiKey: 'SG.sandbox-key',
          webhookPublicKey:
            'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENdZfxBf5aa8PT6b4sEGHvouF1BLUnHrFXL4UYJXZ/3bsw1rkERxXDPxQdGbM1cIogLJBinMq14wcfMZoDuUPdA==',
          /** The half the sandbox signs its webhooks with. */
          webhookPrivateKey:
            'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5MVqxHmZU2wiHHKKuO0qVuZDzWQHGwxUEqQ7U0sx8eehRANCAAQ11l/EF/lprw9PpviwQYe+i4XUEtScesVcvhRgldn/duzDWuQRHFcM/FB0ZszVwiiAskGKcyrXjBx8xmgO5Q90',
        },
      },
      postmark: {
        sandboxPort: 4025,
        source: 'email.postmark',
        credentials: {
          serverToken: 'sandbox-postmark-token',
          webhookUser: 'patchbay-webhooks',
          webhookPassword: 'sandbox-postmark-webhook-password',
        },
      },
      mailgun: {
        sandboxPort: 4027,
        source: 'email.mailgun',
        credentials: { apiKey: 'sandbox-mailgun-api-key', webhookSigningKey: 'sandbox-mailgun-webhook-signing-key' },
        account: { domain: 'mg.patchbay.example' },
      },
    },
    mappers: { User: 'UserReference' },
  },
  storage: {
    port: 4013,
    providers: {
      s3: {
        sandboxPort: 4023,
        source: 'storage.s3',
        credentials: { secretAccessKey: 'sandbox/secret/access/key/EXAMPLEKEY00', eventsApiKey: 'sandbox-s3-events-api-key' },
        // An access key id is public (every presigned URL carries it); its secret is not.
        account: { bucket: 'patchbay-files', region: 'us-east-1', accessKeyId: 'AKIASANDBOXEXAMPLE01' },
      },
    },
    mappers: { File: 'FileRecord' },
  },
  analytics: {
    port: 4014,
    providers: {
      segment: { sandboxPort: 4024, source: 'analytics.segment', credentials: { writeKey: 'sandbox-write-key' } },
      mixpanel: {
        sandboxPort: 4026,
        source: 'analytics.mixpanel',
        credentials: { serviceAccount: 'patchbay.sandbox:sandbox-secret' },
        account: { projectId: '1000001' },
      },
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

/** `ACCOUNTS_PORT`: a subgraph's port variable. */
export const subgraphPortVariable = (subgraph: string) => envName(subgraph, 'PORT');
/** `SANDBOX_SENDGRID_PORT`: where the sandbox serves a provider. */
export const sandboxPortVariable = (provider: string) => envName('SANDBOX', provider, 'PORT');

type EntryOf<P extends ProviderName> = P extends ProviderName
  ? Extract<(typeof REGISTRY)[SubgraphName]['providers'], Record<P, unknown>>[P]
  : never;
/** A provider's entry, typed with its own credential and account names. */
export const providerEntry = <P extends ProviderName>(name: P) =>
  PROVIDERS.find((p) => p.name === name) as (typeof PROVIDERS)[number] & EntryOf<P>;
/** A provider's sandbox on its local port: the default upstream URL of local development. */
export const sandboxUrl = (provider: ProviderName) => localUrl(providerEntry(provider).sandboxPort);
