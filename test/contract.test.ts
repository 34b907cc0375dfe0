import { describe, expect, test } from '@jest/globals';
import { parse } from 'graphql';
import { hiddenCoordinates, type SubgraphSdl } from '../gateway/contract.js';

const sdl = (name: string, text: string): SubgraphSdl => ({ name, typeDefs: parse(text) });
const users = sdl(
  'users',
  `type Query { me: User @tag(name: "app") admin: Report }
   type User { id: ID! @tag(name: "app") name: String @tag(name: "app") secret: String audit: Report }
   type Report { lines: [String!]! }
   type Photo @tag(name: "app") { url: String! internal: String @tag(name: "internal") }
   type Mutation { upload(input: UploadInput!): Photo @tag(name: "app") purge(keep: Int, filter: PurgeFilter): Boolean }
   input UploadInput { name: String! }
   input PurgeFilter { before: String }`,
);

describe('contracts by @tag', () => {
  test('include: tagged fields and the fields of tagged types; what only led to hidden parts goes too', () => {
    expect([...hiddenCoordinates([users], { include: ['app'] })].sort()).toEqual([
      'Mutation.purge',
      'Mutation.purge(filter:)',
      'PurgeFilter', // only purge took it
      'Query.admin',
      'Report', // no field of it is in, and nothing visible returns it
      'Report.lines',
      'User.audit',
      'User.secret',
    ]);
  });

  test('exclude: a tagged field or type is out, with what depends on it', () => {
    expect([...hiddenCoordinates([users], { exclude: ['internal'] })].sort()).toEqual(['Photo.internal']);
    const hidden = hiddenCoordinates([users], { exclude: ['app'] });
    expect(hidden.has('Photo')).toBe(true);
    expect(hidden.has('Mutation.upload')).toBe(true); // returns a hidden type
    expect(hidden.has('UploadInput')).toBe(true); // unreachable
    expect(hidden.has('Query.admin')).toBe(false);
  });

  test('tags from every subgraph that defines a type count', () => {
    const other = sdl('files', `type User { id: ID! files: [Photo!] @tag(name: "app") }  type Photo @tag(name: "app") { url: String! }`);
    const hidden = hiddenCoordinates([users, other], { include: ['app'] });
    expect(hidden.has('User.files')).toBe(false);
    expect(hidden.has('User.id')).toBe(false);
  });
});
