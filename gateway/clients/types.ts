import type { SubgraphName } from '../../subgraphs/index.js';
import type { Contract } from '../contract.js';
import type { QueryLimits } from '../limits.js';

/** Everything that differs between the clients one gateway program serves. */
export interface ClientConfig {
  name: string;
  defaultPort: number;
  /** Subgraphs this client's gateway routes to. */
  subgraphs: readonly SubgraphName[];
  /** The part of the graph this client sees, by `@tag`; the whole graph when absent. */
  contract?: Contract;
  /**
   * The persisted query manifest of a client that may run only its own operations (safelist);
   * absent for clients that send ad-hoc queries (with APQ). `<CLIENT>_SAFELIST=false` turns
   * the safelist off, e.g. to audit the gateway with ad-hoc queries.
   */
  safelist?: URL;
  /** Whether the schema can be introspected (off for clients that ship fixed queries); `<CLIENT>_INTROSPECTION` overrides. */
  introspection: boolean;
  /** Whether validation errors suggest field names ("Did you mean ...?"), which reveal the schema. */
  fieldSuggestions: boolean;
  /** Browser origins allowed to call this gateway; none for native apps. */
  corsOrigins: readonly string[];
  /** Depth, aliases, tokens and estimated cost an operation may have (gateway/limits.ts). */
  limits: QueryLimits;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Client request headers passed on to the subgraphs (lower case); no others are. */
  forwardHeaders: readonly string[];
  /** Time one subgraph call may take before its fields fail. */
  subgraphTimeoutMs: number;
}
