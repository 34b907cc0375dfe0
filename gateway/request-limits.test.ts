import { describe, expect, test } from '@jest/globals';
import { jsonShapeExceeded } from './plugins/json-bodies.js';
import { variableLimitExceeded } from './plugins/request-limits.js';

const limits = { documentChars: 1000, variableDepth: 4, variableValues: 20, variableChars: 50 };
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

describe('variable limits', () => {
  test.each<[string, unknown, string | undefined]>([
    ['no variables', undefined, undefined],
    ['a few scalars', { a: 1, b: 'x', c: null, d: true }, undefined],
    ['nesting at the limit', { v: nested(3) }, undefined],
    ['nesting past the limit', { v: nested(4) }, 'Variables are nested deeper than 4 levels.'],
    ['20 values in all', { v: Array.from({ length: 18 }, () => 0) }, undefined],
    ['21 values', { v: Array.from({ length: 19 }, () => 0) }, 'Variables hold more than 20 values.'],
    ['text at the limit (keys count)', { ab: 'x'.repeat(48) }, undefined],
    ['text past the limit', { ab: 'x'.repeat(49) }, 'Variables hold more than 50 characters of text.'],
    ['text in keys alone', { ['k'.repeat(51)]: 1 }, 'Variables hold more than 50 characters of text.'],
  ])('%s', (_name, variables, expected) => {
    expect(variableLimitExceeded([variables], limits)).toBe(expected);
  });

  test('a list 100,000 deep is refused without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(variableLimitExceeded([{ v: deep }], { ...limits, variableDepth: 10, variableValues: 1_000_000 })).toBe(
      'Variables are nested deeper than 10 levels.',
    );
  });

  test('extensions count with the variables', () => {
    expect(variableLimitExceeded([{ a: 'x'.repeat(30) }, { b: 'y'.repeat(30) }], limits)).toBe(
      'Variables hold more than 50 characters of text.',
    );
  });
});

describe('the shape of a JSON text, read without parsing', () => {
  const max = { depth: 3, values: 6, chars: 10 };
  test.each<[string, string, string | undefined]>([
    ['flat', '{"a":1}', undefined],
    ['nesting at the limit', '{"a":[[1]]}', undefined],
    ['nesting past the limit', '{"a":[[[1]]]}', 'depth'],
    ['brackets inside strings do not count', '{"a":"[[[["}', undefined],
    ['an escaped quote does not end a string', '{"a":"\\"[[","b":[[[1]]]}', 'depth'],
    ['values at the limit (the object, its list, four items)', '{"a":[1,2,3,4]}', undefined],
    ['values past it', '{"a":[1,2,3,4,5,6]}', 'values'],
    ['text at the limit (keys count)', '{"ab":"cdefghij"}', undefined],
    ['text past it', '{"ab":"cdefghijk"}', 'chars'],
  ])('%s', (_name, text, exceeded) => {
    expect(jsonShapeExceeded(text, max)).toBe(exceeded);
  });
});
