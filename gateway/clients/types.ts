import type { RequestLimits } from '../plugins/request-limits.js';
import type { Contract } from '../contract.js';

/** What one client's operations may cost the graph (gateway/plugins/parser-limits.ts, shape-limits.ts, demand-control.ts and request-limits.ts). */
export interface QueryLimits extends RequestLimits {
  /** Deepest field nesting; fragments add no depth. */
  depth: number;
  /** Aliases in one operation (each alias can repeat a costly field). */
  aliases: number;
  /** Lexical tokens in the document; parsing stops past them. */
  tokens: number;
  /** Selections in the document, its fragments expanded; counted before validation. */
  selections: number;
  /** Times one response key may be selected at one place (validation time grows with its square). */
  fieldRepeats: number;
  /** Most estimated cost (demand control on @cost / @listSize). */
  cost: number;
  /** `enforce` refuses an operation over `cost`; `measure` only reports the estimate. */
  costMode: 'enforce' | 'measure';
  /** Items assumed for a list field with no @listSize. */
  listSize: number;
}

/**
 * Everything that differs between the clients one gateway program serves. The subgraphs a
 * gateway routes to are not here: they come from the supergraph it loads. Each setting is a
 * default a deployment may override by environment (`<CLIENT>_MAX_COST=...`, the tables of
 * gateway/settings.ts); the contract and `defer` shape the schema the client is served, which
 * is composed and checked before deployment, so they are the file's alone.
 */
export interface ClientConfig {
  name: string;
  defaultPort: number;
  /** The part of the graph this client sees, by `@tag`; the whole graph when absent. */
  contract?: Contract;
  /**
   * Whether it may run only its own operations (safelist): those of clients/<name>/*.graphql,
   * by their ids in its persisted query manifest (`npm run persisted`). Clients that send
   * ad-hoc queries may use APQ instead.
   */
  safelist: boolean;
  /** Whether the schema can be introspected (off for clients that ship fixed queries). */
  introspection: boolean;
  /** Whether validation errors suggest field names ("Did you mean ...?"), which reveal the schema. */
  fieldSuggestions: boolean;
  /** Whether GET /graphql from a browser shows a GraphQL IDE (never in production). */
  ide: boolean;
  /** Whether `@defer` is served (incremental delivery, multipart/mixed). */
  defer: boolean;
  /** Browser origins allowed to call this gateway; none for native apps. */
  corsOrigins: readonly string[];
  limits: QueryLimits;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Client request headers passed on to the subgraphs (lower case); no others are. */
  forwardHeaders: readonly string[];
  /** Time one subgraph call may take before its fields fail. */
  subgraphTimeoutMs: number;
}
