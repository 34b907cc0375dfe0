/**
 * Demand control's estimate (gateway/cost.ts), on a schema with the directives the subgraph
 * SDLs use: list sizes from slicing arguments (sent or default), connections handing their
 * size to `nodes`, assumed sizes, weights, unannotated lists, and abstract types counted by
 * their most expensive branch.
 */
import { describe, expect, test } from '@jest/globals';
import { Kind, buildSchema, getOperationAST, parse, type FragmentDefinitionNode } from 'graphql';
import { estimateCost } from '../gateway/cost.js';

const schema = buildSchema(`
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  type Query {
    products: [Product!]!
    users(first: Int = 20): UserConnection! @listSize(slicingArguments: ["first"], sizedFields: ["nodes"])
    search(limit: Int = 5): [Result!]! @listSize(slicingArguments: ["limit"])
    report: Report @cost(weight: 50)
  }
  type Product { id: ID! name: String! categories: [Category!]! }
  type Category { id: ID! name: String! subCategories: [Category!]! }
  type UserConnection { nodes: [User!]! }
  type User { id: ID! tags: [Tag!]! @listSize(assumedSize: 3) }
  type Tag @cost(weight: 0) { name: String! }
  union Result = Book | Author
  type Book { title: String! chapters: [Chapter!]! @listSize(assumedSize: 30) }
  type Author { name: String! }
  type Chapter { title: String! }
  type Report { total: Int! }
  type Mutation { touch: Boolean }
`);

function cost(query: string, variables: Record<string, unknown> = {}, unsizedList = 10): number {
  const document = parse(query);
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return estimateCost(schema, getOperationAST(document)!, fragments, variables, { unsizedList, mutation: 10 });
}

describe('estimated cost', () => {
  test('three nested lists nothing sizes: the documented default, multiplied once per level', () => {
    // products 10 x (Product 1 + categories 10 x (Category 1 + subCategories 10 x Category 1)); scalars are free.
    expect(cost('{ products { id categories { id name subCategories { id name } } } }')).toBe(10 * (1 + 10 * (1 + 10 * 1)));
    expect(cost('{ products { id categories { id name subCategories { id name } } } }', {}, 2)).toBe(2 * (1 + 2 * (1 + 2)));
  });

  test('a connection: its slicing argument (sent, from a variable, or its default) sizes its nodes', () => {
    expect(cost('{ users(first: 5) { nodes { id } } }')).toBe(1 + 5 * 1);
    expect(cost('query($n: Int) { users(first: $n) { nodes { id } } }', { n: 7 })).toBe(1 + 7 * 1);
    expect(cost('{ users { nodes { id } } }')).toBe(1 + 20 * 1);
  });

  test('an assumed size, and a type whose items cost nothing', () => {
    expect(cost('{ users(first: 2) { nodes { tags { name } } } }')).toBe(1 + 2 * (1 + 3 * 0));
  });

  test('a field weight adds to its type', () => {
    expect(cost('{ report { total } }')).toBe(50 + 1);
  });

  test('an abstract type counts its most expensive branch per item, not every branch', () => {
    const both = '{ search(limit: 4) { ... on Book { title chapters { title } } ... on Author { name } } }';
    // Each of 4 results is a Book (1 + 30 chapters) or an Author (1): the Book branch counts.
    expect(cost(both)).toBe(4 * (1 + 30));
    expect(cost('{ search(limit: 4) { ... on Author { name } } }')).toBe(4 * 1);
  });

  test('named fragments count where their type condition applies; mutations cost their type', () => {
    const spread = '{ search(limit: 2) { ...B ...A } } fragment B on Book { chapters { title } } fragment A on Author { name }';
    expect(cost(spread)).toBe(2 * (1 + 30));
    expect(cost('mutation { touch }')).toBe(10);
  });
});
