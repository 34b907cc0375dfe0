import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLInt, GraphQLNonNull, GraphQLString, printSchema, GraphQLSchema } from 'graphql';

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
    args: { if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true }, label: { type: GraphQLString }, initialCount: { type: GraphQLInt, defaultValue: 0 } },
  }),
];

/** The same, as SDL (for the engine's additionalTypeDefs). */
export const INCREMENTAL_DELIVERY_SDL = printSchema(new GraphQLSchema({ directives: INCREMENTAL_DELIVERY_DIRECTIVES }));
