import { describe, expect, test } from '@jest/globals';
import { Kind, buildSchema, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { estimateCost } from './cost.js';

const schema = buildSchema(`
  directive @cost(weight: Int!) on OBJECT | FIELD_DEFINITION
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!]) on FIELD_DEFINITION
  type Query {
    user(id: ID!): User
    users(first: Int = 10): UserConnection! @listSize(slicingArguments: ["first"], sizedFields: ["nodes"])
    search(text: String!): [Result!]! @listSize(assumedSize: 5)
    tags: [String!]!
    report: Int! @cost(weight: 50)
  }
  type Mutation { ping: Boolean! }
  type UserConnection { nodes: [User!]! }
  type User { id: ID! name: String! files: [File!]! }
  type File @cost(weight: 3) { key: String! }
  type Post { id: ID! }
  union Result = User | Post
`);

function cost(document: string, variables: Record<string, unknown> = {}) {
  const parsed = parse(document);
  const operation = parsed.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    parsed.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  return estimateCost(schema, operation, fragments, variables, { unsizedList: 10, mutation: 10 });
}

describe('estimateCost', () => {
  test('an object costs 1 plus what is selected in it; scalars cost nothing', () => {
    expect(cost('{ user(id: "1") { id name } }')).toBe(1);
  });

  test('a list multiplies by its size: the slicing argument sent, or its default', () => {
    expect(cost('{ users(first: 5) { nodes { id } } }')).toBe(1 + 5);
    expect(cost('query($n: Int) { users(first: $n) { nodes { id } } }', { n: 20 })).toBe(1 + 20);
    expect(cost('{ users { nodes { id } } }')).toBe(1 + 10);
  });

  test('a list nothing sizes counts as unsizedList items, each at its type weight', () => {
    expect(cost('{ user(id: "1") { files { key } } }')).toBe(1 + 10 * 3);
  });

  test('a field adds its own @cost; a mutation costs its operation weight', () => {
    expect(cost('{ report }')).toBe(50);
    expect(cost('mutation { ping }')).toBe(10);
  });

  test('over an abstract type, the most expensive branch counts, not the sum', () => {
    const both = cost('{ search(text: "a") { ... on User { files { key } } ... on Post { id } } }');
    expect(both).toBe(5 * (1 + 10 * 3));
  });

  test('fragments cost what they select, where they are spread', () => {
    expect(cost('{ users(first: 2) { nodes { ...F } } } fragment F on User { files { key } }')).toBe(1 + 2 * (1 + 10 * 3));
  });
});
