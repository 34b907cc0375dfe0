/**
 * `@cacheControl` as every subgraph SDL declares it (composed into the supergraph with
 * `@composeDirective`; the gateway reads it, gateway/cache-control.ts). A subgraph's schema must
 * hold its own copy to compose and to serve; this is the one they are checked against
 * (test/composition.test.ts) and the scaffold writes.
 */
export const CACHE_CONTROL_LINK = `@link(url: "https://specs.patchbay.example/cache-control/v0.1", import: ["@cacheControl"])
  @composeDirective(name: "@cacheControl")`;

export const CACHE_CONTROL_SDL = `"How long an answer may be kept, and by whom: the gateway's Cache-Control (private: the user's own cache only)."
enum CacheControlScope {
  PUBLIC
  PRIVATE
}
"""
How long a field's value may be kept (seconds) and by whom; the gateway answers with the
shortest of an operation's fields. Without a hint a root field or an object is not kept, and a
leaf keeps its parent's.
"""
directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
`;
