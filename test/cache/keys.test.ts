import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  COHERENCE_SEQUENCE_KEY,
  coherenceChannels,
  fragmentKey,
  HEALTH_PROBE_KEY,
  isVersionKey,
  keyedQuery,
  lockKey,
  makeKey,
  MAX_KEY_LENGTH,
  memoKey,
  memoVersionTag,
  positionalFragmentKey,
  stableStringify,
  tagKey,
  viewKey,
} from '../../src/cache/keys.ts';

const PRINTABLE = /^[\x21-\x7e]+$/;

// Values with a stable form, including the awkward ones: unicode, separators, lone surrogates.
const part = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.constantFrom('', '|', '1:', '%', '#', ':', '"', '\uD800', '\uFFFD', ' '),
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

const query = fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 6 });

// Queries whose names are often the ones a page reads.
const pagedQuery = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom('page', 'category', 'Page', 'page '), fc.string({ maxLength: 6 })), fc.string({ maxLength: 6 })),
  { maxLength: 6 },
);

describe('makeKey()', () => {
  it('is injective: different (namespace, parts) never share a key', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(part, { maxLength: 4 }), fc.string(), fc.array(part, { maxLength: 4 }), (n1, p1, n2, p2) => {
        const same = n1 === n2 && stableStringify(p1) === stableStringify(p2);
        expect(makeKey(n1, ...p1) === makeKey(n2, ...p2)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it('stays injective and bounded around and beyond the hashing threshold', () => {
    const long = fc.string({ unit: 'binary', minLength: 60, maxLength: 260 });
    fc.assert(
      fc.property(fc.array(long, { minLength: 1, maxLength: 2 }), fc.array(long, { minLength: 1, maxLength: 2 }), (p1, p2) => {
        const [k1, k2] = [makeKey('ns', ...p1), makeKey('ns', ...p2)];
        expect(k1.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        expect(k1).toMatch(PRINTABLE);
        expect(k1 === k2).toBe(JSON.stringify(p1) === JSON.stringify(p2));
      }),
      { numRuns: 500 },
    );
    // Inputs that share the readable head still get different keys.
    expect(makeKey('ns', 'a'.repeat(300) + 'x')).not.toBe(makeKey('ns', 'a'.repeat(300) + 'y'));
  });

  it('keeps the part boundaries: ("ab") differs from ("a", "b")', () => {
    expect(makeKey('ns', 'ab')).not.toBe(makeKey('ns', 'a', 'b'));
    expect(makeKey('ns|1:"a"', 'b')).not.toBe(makeKey('ns', 'a', 'b'));
    expect(makeKey('ns', '3')).not.toBe(makeKey('ns', 3));
    expect(makeKey('ns', null)).not.toBe(makeKey('ns', undefined));
    expect(makeKey('ns', '\uD800')).not.toBe(makeKey('ns', '\uFFFD'));
  });

  it('is printable ASCII and at most MAX_KEY_LENGTH characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(part, { maxLength: 5 }), (namespace, parts) => {
        const key = makeKey(namespace, ...parts);
        expect(key).toMatch(PRINTABLE);
        expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
      }),
      { numRuns: 1000 },
    );
  });

  it('hashes long keys, keeping a readable head and staying distinct', () => {
    const long = 'x'.repeat(500);
    const a = makeKey('post', long, 1);
    const b = makeKey('post', long, 2);
    expect(a).toHaveLength(MAX_KEY_LENGTH);
    expect(a.startsWith('post|')).toBe(true);
    expect(a).toMatch(/#[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(makeKey('q', 'y'.repeat(100_000)).length).toBe(MAX_KEY_LENGTH);
  });

  it('reads plainly for simple parts', () => {
    expect(makeKey('post', 3)).toBe('post|1:3|');
    expect(makeKey('post', '3')).toBe('post|3:"3"|');
    expect(makeKey('a b', 'x|y')).toBe('a%20b|7:"x%7Cy"|');
  });
});

describe('viewKey()', () => {
  it('does not depend on the order of query parameters', () => {
    fc.assert(
      fc.property(query, fc.string(), (pairs, path) => {
        const forward = new URLSearchParams(pairs);
        const names = Array.from(new Set(pairs.map(([name]) => name))).reverse();
        // Reorder by name, keeping the relative order of repeated names (which is meaningful).
        const shuffled = new URLSearchParams(names.flatMap((name) => pairs.filter(([n]) => n === name)));
        expect(viewKey('view', path, shuffled, { queryString: true })).toBe(viewKey('view', path, forward, { queryString: true }));
      }),
    );
    expect(viewKey('v', '/posts', '?b=2&a=1', { queryString: true })).toBe(viewKey('v', '/posts', 'a=1&b=2', { queryString: true }));
  });

  it('separates different queries and paths', () => {
    fc.assert(
      fc.property(fc.string(), query, fc.string(), query, (p1, q1, p2, q2) => {
        const c1 = canonicalQuery(new URLSearchParams(q1));
        const c2 = canonicalQuery(new URLSearchParams(q2));
        const k1 = viewKey('view', p1, new URLSearchParams(q1), { queryString: true });
        const k2 = viewKey('view', p2, new URLSearchParams(q2), { queryString: true });
        expect(k1 === k2).toBe(p1 === p2 && c1 === c2);
      }),
      { numRuns: 1000 },
    );
    expect(viewKey('v', '/posts', 'user_id=3', { queryString: true })).not.toBe(viewKey('v', '/posts', '', { queryString: true }));
  });

  it('leaves the query out without queryString, distinctly from an empty query', () => {
    const without = viewKey('v', '/about', '?x=1', { queryString: false });
    expect(without).toBe(viewKey('v', '/about', '?y=2', { queryString: false }));
    expect(without).not.toBe(viewKey('v', '/about', '', { queryString: true }));
  });

  it('with a list of names, keeps only those parameters, canonically', () => {
    fc.assert(
      fc.property(pagedQuery, (pairs) => {
        const read = pairs.filter(([name]) => name === 'page' || name === 'category');
        const listed = viewKey('v', '/posts', new URLSearchParams(pairs), { queryString: ['page', 'category'] });
        expect(listed).toBe(viewKey('v', '/posts', new URLSearchParams(read), { queryString: true }));
      }),
      { numRuns: 500 },
    );
    const options = { queryString: ['page'] };
    const page2 = viewKey('v', '/', 'page=2', options);
    expect(viewKey('v', '/', '?utm_source=x&page=2&Page=3&page%5B%5D=4', options)).toBe(page2);
    expect(viewKey('v', '/', 'p%61ge=%32', options)).toBe(page2);
    expect(viewKey('v', '/', 'page=3', options)).not.toBe(page2);
    expect(viewKey('v', '/', 'page=2&page=3', options)).not.toBe(viewKey('v', '/', 'page=3&page=2', options));
    expect(viewKey('v', '/', 'junk=1', options)).toBe(viewKey('v', '/', '', options));
    expect(viewKey('v', '/', 'junk=1', { queryString: [] })).toBe(viewKey('v', '/', '', { queryString: true }));
    expect(keyedQuery('b=2&page=3&a=1&page=1', ['page', 'a'])).toBe('a=1&page=3&page=1');
  });

  it('stays bounded and printable for a 100 KB query string', () => {
    const key = viewKey('v', '/posts', `q=${'é'.repeat(50_000)}`, { queryString: true });
    expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(key).toMatch(PRINTABLE);
  });
});

describe('memoKey() and fragmentKey()', () => {
  it('never collide with each other or across versions', () => {
    expect(memoKey('f', 1, [1])).not.toBe(memoKey('f', 2, [1]));
    expect(memoKey('f', 1, [1, 2])).not.toBe(memoKey('f', 1, [[1, 2]]));
    expect(fragmentKey('sidebar', [])).not.toBe(memoKey('sidebar', 1, []));
    expect(fragmentKey('sidebar', ['a'])).toBe(fragmentKey('sidebar', ['a']));
    expect(fragmentKey('sidebar', ['a'])).not.toBe(fragmentKey('sidebar', ['b']));
  });
});

describe('stableStringify()', () => {
  it('sorts object keys and keeps types apart', () => {
    expect(stableStringify({ b: 1, a: [true, null, '1'] })).toBe('{"a":[true,null,"1"],"b":1}');
    expect(stableStringify({ a: 1, b: undefined })).toBe(stableStringify({ a: 1 }));
    expect(stableStringify(1n)).not.toBe(stableStringify(1));
    expect(stableStringify([undefined])).not.toBe(stableStringify([null]));
  });

  it('supports Dates, Buffers, Maps, Sets, cacheId and toJSON', () => {
    expect(stableStringify(new Date('2024-01-02T03:04:05Z'))).toBe('Date(2024-01-02T03:04:05.000Z)');
    expect(stableStringify(Buffer.from([0, 255]))).toBe('Bytes(AP8=)');
    expect(stableStringify(new Map([['b', 1], ['a', 2]]))).toBe(stableStringify(new Map([['a', 2], ['b', 1]])));
    expect(stableStringify(new Set([2, 1]))).toBe(stableStringify(new Set([1, 2])));
    class User {
      constructor(readonly id: number) {}
      cacheId() {
        return this.id;
      }
    }
    class Team {
      constructor(readonly id: number) {}
      get cacheId() {
        return this.id;
      }
    }
    expect(stableStringify(new User(3))).toBe('"User"#3');
    expect(stableStringify(new User(3))).not.toBe(stableStringify(new Team(3)));
    class Point {
      constructor(readonly x: number) {}
      toJSON() {
        return { x: this.x };
      }
    }
    expect(stableStringify(new Point(1))).toBe('{"x":1}');
  });

  it('names the place of a value with no stable form', () => {
    const circular: Record<string, unknown> = { a: {} };
    (circular.a as Record<string, unknown>).back = circular;
    class Session {}
    expect(() => stableStringify({ user: { save: () => 1 } })).toThrow(/function at value\.user\.save/);
    expect(() => stableStringify([Symbol('s')])).toThrow(/symbol at value\[0\]/);
    expect(() => stableStringify(circular)).toThrow(/circular structure at value\.a\.back/);
    expect(() => stableStringify({ s: new Session() })).toThrow(/instance of Session at value\.s/);
  });

  it('allows the same object twice when it is not circular', () => {
    const shared = { x: 1 };
    expect(stableStringify([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });
});

describe('the library\'s own keys', () => {
  it('keep the namespaces already stored, so an upgrade reads what an older process wrote', () => {
    expect(tagKey('posts')).toBe('__kiln:tag|7:"posts"|');
    expect(tagKey(memoVersionTag('recent'))).toBe('__kiln:tag|20:"__kiln:memo:recent"|');
    expect(lockKey('view|1:a|')).toBe('__kiln:lock|15:"view%7C1:a%7C"|');
    expect(positionalFragmentKey('a.njk', 1, 4, [])).toBe('fragment@|7:"a.njk"|1:1|1:4|2:[]|');
    expect(HEALTH_PROBE_KEY).toBe('__kiln:health');
    expect(COHERENCE_SEQUENCE_KEY).toBe('__kiln:coherence|seq');
    expect(coherenceChannels('kiln:', 'me').mine).toMatch(/^kiln:coherence:\{[0-9a-f]{16}\}:ack:me$/);
  });

  it('tell a version key (tag or memoized function) from every other key', () => {
    expect(isVersionKey(tagKey('posts'))).toBe(true);
    expect(isVersionKey(tagKey(memoVersionTag('f')))).toBe(true);
    expect(isVersionKey(tagKey('x'.repeat(500)))).toBe(true);
    expect(isVersionKey(viewKey('p', '/__kiln:tag|', undefined, { queryString: false }))).toBe(false);
    expect(isVersionKey(lockKey('__kiln:tag|'))).toBe(false);
    expect(isVersionKey(makeKey('__kiln:tags', 'x'))).toBe(false);
  });
});
