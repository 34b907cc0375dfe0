import { describe, expect, test } from '@jest/globals';
import { buildSchema, parse } from 'graphql';
import { cacheControlHeader, cacheHints, cachePolicy } from './cache-control.js';

const SDL = `
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT
  enum CacheControlScope { PUBLIC PRIVATE }
  type Query {
    catalog: Catalog @cacheControl(maxAge: 300)
    profile: Profile @cacheControl(maxAge: 60, scope: PRIVATE)
    unhinted: Catalog
  }
  type Catalog { title: String items: [Item] page: Page }
  type Item @cacheControl(maxAge: 120) { name: String }
  type Page @cacheControl(inheritMaxAge: true) { size: Int }
  type Profile { name: String }
`;
const schema = buildSchema(SDL);
const hints = cacheHints(parse(SDL));
const header = (query: string) => cacheControlHeader(cachePolicy(schema, parse(query), undefined, hints));

describe('cache policy of an operation', () => {
  test.each([
    ['a leaf takes its parent max age; all public', '{ catalog { title } }', 'max-age=300, public'],
    ['an object type hint is shorter', '{ catalog { title items { name } } }', 'max-age=120, public'],
    ['inheritMaxAge keeps the parent max age', '{ catalog { page { size } } }', 'max-age=300, public'],
    ['one private field makes it private, the shortest wins', '{ catalog { title } profile { name } }', 'max-age=60, private'],
    ['an object field without a hint is not kept', '{ unhinted { title } }', 'no-store'],
    ['a mutation is not kept', 'mutation { x }', 'no-store'],
  ])('%s', (_label, query, expected) => {
    expect(header(query)).toBe(expected);
  });
});
