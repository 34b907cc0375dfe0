import { handleFederationSupergraph, type UnifiedGraphHandler } from '@graphql-mesh/fusion-runtime';
import { unifiedGraphHandler as rustQueryPlanner } from '@graphql-hive/router-runtime';
import { createDefaultExecutor } from '@graphql-mesh/transport-common';
import { GraphQLSchema, Kind, type DocumentNode } from 'graphql';
import { ConfigError } from '../kit/process/config.js';
import { INCREMENTAL_DELIVERY_DIRECTIVES, usesIncrementalDelivery } from './directives.js';
import { messageOf } from '../kit/process/caught.js';

/** Whether an operation only introspects (every root field is __schema, __type or __typename). */
function isIntrospectionOnly(document: DocumentNode): boolean {
  return document.definitions.every(
    (definition) =>
      definition.kind !== Kind.OPERATION_DEFINITION ||
      definition.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__')),
  );
}

export type QueryPlanner = 'rust' | 'js';

/**
 * The planner to use: the one asked for, or (unset) the Rust planner where its native addon
 * has a build for this machine (Linux glibc and macOS, x64 and arm64), else the JavaScript one.
 */
export async function choosePlanner(asked: QueryPlanner | undefined): Promise<{ planner: QueryPlanner; why: string }> {
  if (asked === 'js') return { planner: 'js', why: 'QUERY_PLANNER=js' };
  try {
    await import('@graphql-hive/router-query-planner');
    return { planner: 'rust', why: asked ? 'QUERY_PLANNER=rust' : 'default' };
  } catch (error) {
    if (asked === 'rust') {
      throw new ConfigError([
        `QUERY_PLANNER: rust, but the planner has no build for ${process.platform}-${process.arch} here (${messageOf(error).split('\n')[0]}); set QUERY_PLANNER=js`,
      ]);
    }
    return { planner: 'js', why: `the Rust planner has no build for ${process.platform}-${process.arch}` };
  }
}

/**
 * How operations are planned. Hive's Rust query planner (a native addon its npm package ships
 * for Linux and macOS) plans and runs most of them: it costs a fraction of the engine's
 * JavaScript planner on large queries. It cannot deliver @defer or @stream, so operations that
 * use them go to the JavaScript planner, which can; both work from the same supergraph and
 * send their subgraph calls through the same hooks (caller tokens, timeouts, merging).
 */
export function hybridQueryPlanner(options: { incremental: boolean }): UnifiedGraphHandler {
  return async (opts) => {
    const rust = await rustQueryPlanner(opts);
    if (!options.incremental) return rust;
    // Built on the first incremental operation: a client that never defers never pays for it.
    let javascript: ReturnType<typeof createDefaultExecutor> | undefined;
    const incrementalExecutor = () => (javascript ??= createDefaultExecutor(handleFederationSupergraph(opts).unifiedGraph));
    const routes = new WeakMap<DocumentNode, 'introspection' | 'incremental' | 'planned'>();
    const schema = rust.unifiedGraph;
    // The directives belong to the schema the engine tracks (graceful reload pins operations
    // to it); added later by the defer plugin, they would make a schema it does not know.
    const withDirectives = new GraphQLSchema({
      ...schema.toConfig(),
      directives: [...schema.getDirectives(), ...INCREMENTAL_DELIVERY_DIRECTIVES],
    });
    withDirectives.extensions = schema.extensions;
    // Introspection answers from that schema, so that clients see the directives they may use.
    const introspectionExecutor = createDefaultExecutor(withDirectives);
    return {
      ...rust,
      unifiedGraph: withDirectives,
      executor(request) {
        let route = routes.get(request.document);
        if (route === undefined) {
          route = isIntrospectionOnly(request.document)
            ? 'introspection'
            : usesIncrementalDelivery(request.document)
              ? 'incremental'
              : 'planned';
          routes.set(request.document, route);
        }
        if (route === 'introspection') return introspectionExecutor(request);
        return route === 'incremental' ? incrementalExecutor()(request) : rust.executor!(request);
      },
    };
  };
}
