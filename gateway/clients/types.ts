import type { SubgraphName } from '../../subgraphs/index.js';

/** Everything that differs between the clients one gateway program serves. */
export interface ClientConfig {
  name: string;
  defaultPort: number;
  /** Subgraphs this client's gateway routes to. */
  subgraphs: readonly SubgraphName[];
  /** Whether the schema can be introspected (off for clients that ship fixed queries). */
  introspection: boolean;
  /** Browser origins allowed to call this gateway; none for native apps. */
  corsOrigins: readonly string[];
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Time one subgraph call may take before its fields fail. */
  subgraphTimeoutMs: number;
}
