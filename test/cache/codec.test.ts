import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptEntryError, decodeEntry, encodeNotFound, encodeValue } from '../../src/cache/codec.ts';

function roundTrip(value: unknown): unknown {
  const entry = decodeEntry(encodeValue(value));
  expect(entry.kind).toBe('value');
  return entry.value;
}

describe('encodeValue() / decodeEntry()', () => {
  it('round-trips any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // JSON itself turns -0 into 0.
        expect(roundTrip(value)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips Buffers, Dates and bigints anywhere in a value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.date({ noInvalidDate: true }), fc.bigInt(), (bytes, date, big) => {
        const value = { body: Buffer.from(bytes), when: date, list: [big, Buffer.from(bytes)] };
        expect(roundTrip(value)).toEqual(value);
      }),
      { numRuns: 200 },
    );
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const back = roundTrip(all);
    expect(Buffer.isBuffer(back) && back.equals(all)).toBe(true);
  });

  it('never mistakes user data for a tagged value', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('$', '$$', '$b', 'd', '$$$', 'k', 'v'), fc.oneof(fc.string(), fc.constantFrom('b', 'd', 'n'))),
        (object) => {
          expect(roundTrip(object)).toEqual(object);
          // Next to a Buffer, the entry is revived: user keys must still come back untouched.
          const mixed = { nested: [object], body: Buffer.from('x') };
          expect(roundTrip(mixed)).toEqual(mixed);
        },
      ),
    );
    const lookalikes = { a: { $: 'b', d: 'AAAA' }, n: { $: 'n', d: '12' }, bytes: new Uint8Array([1]) };
    expect(roundTrip(lookalikes)).toEqual({ ...lookalikes, bytes: Buffer.from([1]) });
  });

  it('stores a safe integer as its bare decimal string, so backend counters work', () => {
    expect(encodeValue(42)).toBe('42');
    expect(encodeValue(-7)).toBe('-7');
    expect(decodeEntry('1234')).toEqual({ kind: 'value', value: 1234 });
    expect(encodeValue('42')).not.toBe('42');
    expect(roundTrip('42')).toBe('42');
    expect(roundTrip(1.5)).toBe(1.5);
    expect(encodeValue(2 ** 60)).not.toBe(String(2 ** 60));
  });

  it('keeps null, the empty string, false and 0 as values', () => {
    expect(roundTrip(null)).toBeNull();
    expect(roundTrip('')).toBe('');
    expect(roundTrip(false)).toBe(false);
    expect(roundTrip(0)).toBe(0);
  });

  it('round-trips unicode, including lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(roundTrip(text)).toBe(text);
      }),
    );
    expect(roundTrip('\uD800 lone')).toBe('\uD800 lone');
  });

  it('keeps tag versions, including tag names starting with $', () => {
    const tags = { post: '123', $odd: '456' };
    expect(decodeEntry(encodeValue({ a: 1 }, tags))).toEqual({ kind: 'value', value: { a: 1 }, tags });
    expect(decodeEntry(encodeValue(5, tags))).toEqual({ kind: 'value', value: 5, tags });
  });

  it('encodes "not found" markers that remember null or undefined', () => {
    expect(decodeEntry(encodeNotFound(undefined))).toEqual({ kind: 'notFound', value: undefined });
    expect(decodeEntry(encodeNotFound(null, { t: '1' }))).toEqual({ kind: 'notFound', value: null, tags: { t: '1' } });
  });

  it('refuses values with no data form with a TypeError', () => {
    const circular: unknown[] = [];
    circular.push(circular);
    expect(() => encodeValue(undefined)).toThrow(/undefined/);
    expect(() => encodeValue(() => 1)).toThrow(TypeError);
    expect(() => encodeValue(Symbol('s'))).toThrow(TypeError);
    expect(() => encodeValue(circular)).toThrow(/circular/);
  });

  it('stores data, never code: a class instance comes back as plain data', () => {
    class Post {
      constructor(readonly title: string) {}
      shout() {
        return this.title.toUpperCase();
      }
    }
    const back = roundTrip(new Post('hi'));
    expect(back).toEqual({ title: 'hi' });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
});

describe('decodeEntry() on corrupt input', () => {
  const cases: Record<string, string> = {
    'arbitrary text': 'hello',
    'a truncated envelope': encodeValue({ a: 'long enough value' }).slice(0, -3),
    'another format version': '{"k":2,"v":1}',
    'a JSON array': '[1,2]',
    'a missing value': '{"k":1}',
    'a bad tagged value': '{"k":1,"e":1,"v":{"$":"b","d":5}}',
    'an unknown tag kind': '{"k":1,"e":1,"v":{"$":"x","d":"1"}}',
    'a bad bigint': '{"k":1,"e":1,"v":{"$":"n","d":"1.5"}}',
    'non-string tag versions': '{"k":1,"t":{"a":1},"v":1}',
    'a not-found marker with a value': '{"k":1,"n":1,"v":3}',
    'an empty string': '',
  };
  for (const [what, raw] of Object.entries(cases)) {
    it(`throws CorruptEntryError for ${what}`, () => {
      expect(() => decodeEntry(raw)).toThrow(CorruptEntryError);
    });
  }

  it('never throws anything but CorruptEntryError for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        try {
          decodeEntry(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptEntryError);
        }
      }),
    );
  });
});
