import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../../src/blog/import/json-syntax.ts';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Valid JSON texts with one character inserted, removed or replaced by one that matters to the grammar. */
const mutated = fc
  .tuple(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), fc.nat(), fc.constantFrom(...'{}[],:"\\ \n0-.etnuabx\u0001'), fc.constantFrom('insert', 'remove', 'replace'))
  .map(([value, indent, at, char, how]) => {
    const text = JSON.stringify(value, null, indent) ?? 'null';
    const i = at % (text.length + 1);
    if (how === 'insert') return text.slice(0, i) + char + text.slice(i);
    if (how === 'remove') return text.slice(0, i) + text.slice(i + 1);
    return text.slice(0, i) + char + text.slice(i + 1);
  });

describe('findJsonSyntaxError()', () => {
  it('finds nothing wrong in any JSON.stringify output', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (value, indent) => findJsonSyntaxError(JSON.stringify(value, null, indent) ?? 'null') === undefined));
  });

  it('finds an error exactly when JSON.parse fails', () => {
    fc.assert(fc.property(mutated, (text) => (findJsonSyntaxError(text) === undefined) === parses(text)), { numRuns: 2000 });
  });

  it.each([
    ['[1, 2', 1, 6, "unexpected end of file, expected ',' or ']'"],
    ['{"a": 1,\n "b" 2}', 2, 6, "expected ':' after the property name"],
    ['[1,]', 1, 4, "unexpected ']' (a trailing comma, or a missing value)"],
    ['["line\nbreak"]', 1, 7, 'unterminated string (a line break inside quotes; write \\n)'],
    ['[01]', 1, 3, "expected ',' or ']' after an array element"],
    ['{"a": tru}', 1, 7, 'unexpected character "t"'],
  ])('places the error in %j at line %i, column %i', (text, line, column, reason) => {
    expect(findJsonSyntaxError(text)).toEqual({ line, column, reason });
  });

  it('survives nesting far deeper than a recursive parser would', () => {
    expect(findJsonSyntaxError('['.repeat(200_000))).toMatchObject({ line: 1, column: 200_001 });
  });
});
