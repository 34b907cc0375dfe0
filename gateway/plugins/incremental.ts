import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { visit, type DocumentNode } from 'graphql';
import { usesIncrementalDelivery } from '../directives.js';

/** Media types in which incremental results (@defer, @stream) can be delivered. */
const INCREMENTAL = /multipart\/mixed|text\/event-stream/i;

/** The document with @defer and @stream dropped: the same data, all in one result. */
const withoutIncremental = (document: DocumentNode): DocumentNode =>
  visit(document, {
    Directive: (node) => (node.name.value === 'defer' || node.name.value === 'stream' ? null : undefined),
  });

/**
 * @defer and @stream for the clients that can read them: a request that does not accept
 * multipart/mixed (or an event stream) gets the whole result in one JSON response, as GraphQL
 * over HTTP asks, rather than a multipart body it cannot parse.
 */
export function useIncrementalOnlyWhenAccepted(): GatewayPlugin {
  // Parsed documents are cached and reused, so each is looked at once.
  const plainVersion = new WeakMap<DocumentNode, DocumentNode | null>();
  const plainOf = (document: DocumentNode) => {
    let plain = plainVersion.get(document);
    if (plain === undefined) plainVersion.set(document, (plain = usesIncrementalDelivery(document) ? withoutIncremental(document) : null));
    return plain;
  };
  return {
    onExecute({ args, setExecuteFn, executeFn }) {
      const plain = plainOf(args.document);
      const request = args.contextValue.request;
      if (!plain || !request || INCREMENTAL.test(request.headers.get('accept') ?? '')) return;
      setExecuteFn((executionArgs) => executeFn({ ...executionArgs, document: plain }));
    },
  };
}
