import type { DocumentNode, GraphQLSchema } from 'graphql';

/**
 * What a plugin works out once per operation of a document under a schema, instead of once
 * per request: the engine keeps parsed documents, so a document seen again is the same object.
 * Weakly held: a document or schema the engine lets go takes its entries with it.
 */
export function operationMemo<T>() {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, T>>>();
  const entriesOf = (schema: GraphQLSchema, document: DocumentNode) => {
    let byDocument = bySchema.get(schema);
    if (!byDocument) bySchema.set(schema, (byDocument = new WeakMap()));
    let byOperation = byDocument.get(document);
    if (!byOperation) byDocument.set(document, (byOperation = new Map()));
    return byOperation;
  };
  return {
    get: (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) =>
      bySchema
        .get(schema)
        ?.get(document)
        ?.get(operationName ?? ''),
    set: (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, value: T) =>
      void entriesOf(schema, document).set(operationName ?? '', value),
  };
}
