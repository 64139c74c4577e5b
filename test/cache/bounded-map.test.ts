import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/cache/bounded-map.ts';

describe('new BoundedMap()', () => {
  it('refuses bounds that keep nothing', () => {
    expect(() => new BoundedMap({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new BoundedMap({ maxEntries: 1.5 })).toThrow(/maxEntries/);
    expect(() => new BoundedMap({ maxEntries: 1, maxBytes: 0 })).toThrow(/maxBytes/);
  });
});

describe('boundedMap.set()', () => {
  it('keeps at most maxEntries, dropping the first inserted', () => {
    const map = new BoundedMap<string, number>({ maxEntries: 2 });
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    expect(map.size).toBe(2);
    expect(map.has('a')).toBe(false);
    expect(Array.from(map.values())).toEqual([2, 3]);
  });

  it('keeps at most maxBytes as sizeOf counts, dropping the oldest until the new value fits', () => {
    const map = new BoundedMap<string, string>({ maxEntries: 10, maxBytes: 10, sizeOf: (s) => s.length });
    map.set('a', 'xxxx');
    map.set('b', 'yyyy');
    expect(map.bytes).toBe(8);
    map.set('c', 'zzzzz');
    expect(map.has('a')).toBe(false);
    expect(map.has('b')).toBe(true);
    expect(map.bytes).toBe(9);
  });

  it('refuses a value larger than maxBytes, and holds nothing under its key afterwards', () => {
    const map = new BoundedMap<string, string>({ maxEntries: 10, maxBytes: 4, sizeOf: (s) => s.length });
    map.set('k', 'ok');
    expect(map.set('k', 'far too long')).toBe(false);
    expect(map.has('k')).toBe(false);
    expect(map.set('other', 'fits')).toBe(true);
    expect(map.bytes).toBe(4);
  });

  it('replaces a value in place of its old size, as the youngest entry', () => {
    const map = new BoundedMap<string, string>({ maxEntries: 2, maxBytes: 100, sizeOf: (s) => s.length });
    map.set('a', 'x');
    map.set('b', 'y');
    map.set('a', 'xxx');
    expect(map.bytes).toBe(4);
    map.set('c', 'z');
    expect(map.has('b')).toBe(false);
    expect(map.get('a')).toBe('xxx');
  });
});

describe('boundedMap.get()', () => {
  it('with touchOnGet makes an entry the youngest (least recently used goes first)', () => {
    const map = new BoundedMap<string, number>({ maxEntries: 2, touchOnGet: true });
    map.set('a', 1);
    map.set('b', 2);
    expect(map.get('a')).toBe(1);
    map.set('c', 3);
    expect(map.has('a')).toBe(true);
    expect(map.has('b')).toBe(false);
  });

  it('without touchOnGet leaves the order alone (first inserted goes first), as peek always does', () => {
    const fifo = new BoundedMap<string, number>({ maxEntries: 2 });
    fifo.set('a', 1);
    fifo.set('b', 2);
    expect(fifo.get('a')).toBe(1);
    fifo.set('c', 3);
    expect(fifo.has('a')).toBe(false);

    const lru = new BoundedMap<string, number>({ maxEntries: 2, touchOnGet: true });
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.peek('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('a')).toBe(false);
  });
});

describe('boundedMap.delete() and clear()', () => {
  it('give back the bytes of what they remove', () => {
    const map = new BoundedMap<string, string>({ maxEntries: 10, maxBytes: 100, sizeOf: (s) => s.length });
    map.set('a', 'xx');
    map.set('b', 'yyy');
    expect(map.delete('a')).toBe(true);
    expect(map.delete('a')).toBe(false);
    expect(map.bytes).toBe(3);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.bytes).toBe(0);
  });
});
