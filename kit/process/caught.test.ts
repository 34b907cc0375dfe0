import { describe, expect, test } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { asError, graphqlCodeOf, messageOf, nameOf, propertyOf } from './caught.js';

describe('reading what was thrown', () => {
  test.each([
    ['an Error', new TypeError('bad'), 'bad', 'TypeError'],
    ['a string', 'plain words', 'plain words', 'Error'],
    ['an error-like object', { name: 'AbortError', message: 'aborted' }, 'aborted', 'AbortError'],
    ['null', null, 'null', 'Error'],
    ['a number', 42, '42', 'Error'],
    ['an object with a non-string message', { message: { nested: true } }, '[object Object]', 'Error'],
  ])('%s', (_label, thrown, message, name) => {
    expect(messageOf(thrown)).toBe(message);
    expect(nameOf(thrown)).toBe(name);
    expect(asError(thrown)).toBeInstanceOf(Error);
    expect(asError(thrown).message).toBe(message);
  });

  test('an Error stays itself', () => {
    const error = new Error('same');
    expect(asError(error)).toBe(error);
  });

  test('a GraphQL code is read from extensions when it is a string', () => {
    expect(graphqlCodeOf(new GraphQLError('x', { extensions: { code: 'FORBIDDEN' } }))).toBe('FORBIDDEN');
    expect(graphqlCodeOf({ extensions: { code: 7 } })).toBeUndefined();
    expect(graphqlCodeOf(new Error('no extensions'))).toBeUndefined();
  });

  test('properties of anything: absent on primitives and null', () => {
    expect(propertyOf({ status: 503 }, 'status')).toBe(503);
    expect(propertyOf('text', 'length')).toBeUndefined();
    expect(propertyOf(undefined, 'x')).toBeUndefined();
  });
});
