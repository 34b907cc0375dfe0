import {
  BREAK,
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLSchema,
  GraphQLString,
  printSchema,
  visit,
  type DocumentNode,
} from 'graphql';

/** @defer and @stream as the incremental delivery RFC (and graphql-tools) define them. */
export const INCREMENTAL_DELIVERY_DIRECTIVES = [
  new GraphQLDirective({
    name: 'defer',
    locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
    args: { if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true }, label: { type: GraphQLString } },
  }),
  new GraphQLDirective({
    name: 'stream',
    locations: [DirectiveLocation.FIELD],
    args: {
      if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true },
      label: { type: GraphQLString },
      initialCount: { type: GraphQLInt, defaultValue: 0 },
    },
  }),
];

/** The same, as SDL (for the engine's additionalTypeDefs). */
export const INCREMENTAL_DELIVERY_SDL = printSchema(new GraphQLSchema({ directives: INCREMENTAL_DELIVERY_DIRECTIVES }));

/** Whether an operation asks for incremental delivery (@defer or @stream anywhere in it). */
export function usesIncrementalDelivery(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer' && node.name.value !== 'stream') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}
