import { afterEach, describe, expect, it, vi } from 'vitest';
import { heldCapacity, MemoryBackend, MemoryStore, OFF_HEAP_MIN_LENGTH } from '../../src/cache/backends/memory.ts';
import { backendContract } from './backend-contract.ts';
import { FakeClock } from '../support/fake-clock.ts';

// One store per test, shared by the backends a test makes, so prefix isolation is a real test.
let store = new MemoryStore();

backendContract(
  'memory',
  async ({ prefix, clock }) => new MemoryBackend({ prefix, clock, store }),
  () => {
    store = new MemoryStore();
  },
);

describe('MemoryBackend bounds', () => {
  it('evicts the least recently used entry beyond the threshold', async () => {
    const backend = new MemoryBackend({ threshold: 3 });
    await backend.set('a', '1', 0);
    await backend.set('b', '2', 0);
    await backend.set('c', '3', 0);
    await backend.get('a'); // a is now the most recently used
    await backend.set('d', '4', 0);
    expect(await backend.get('b')).toBeUndefined();
    expect(await backend.getMany(['a', 'c', 'd'])).toEqual(['1', '3', '4']);
    expect((await backend.stats()).entries).toBe(3);
  });

  it('evicts by bytes, counting 2 bytes per UTF-16 unit of key and value', async () => {
    const backend = new MemoryBackend({ maxBytes: 100 });
    await backend.set('k1', 'x'.repeat(20), 0); // (2 + 20) * 2 = 44 bytes
    await backend.set('k2', 'y'.repeat(20), 0); // 88 bytes in all
    expect((await backend.stats()).bytes).toBe(88);
    await backend.set('k3', 'z'.repeat(20), 0); // 132 > 100: k1 goes
    expect(await backend.has('k1')).toBe(false);
    expect(await backend.has('k2')).toBe(true);
    expect(await backend.stats()).toEqual({ entries: 2, bytes: 88 });
  });

  it('does not store a value larger than the whole byte bound, and drops the old one', async () => {
    const backend = new MemoryBackend({ maxBytes: 50 });
    await backend.set('k', 'small', 0);
    await backend.set('k', 'x'.repeat(100), 0);
    expect(await backend.get('k')).toBeUndefined();
    expect(await backend.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it('frees the bytes of an expired entry when it is read', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock });
    await backend.set('k', 'v', 1);
    clock.advance(1_000);
    expect(await backend.get('k')).toBeUndefined();
    expect(await backend.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it('refuses a non-integer incr with an error', async () => {
    const backend = new MemoryBackend();
    await backend.set('k', 'not a number', 0);
    await expect(backend.incr('k', 1)).rejects.toThrow(/not an integer/);
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => new MemoryBackend({ threshold: 0 })).toThrow(/threshold/);
    expect(() => new MemoryBackend({ maxBytes: -1 })).toThrow(/maxBytes/);
  });
});

describe('MemoryBackend long values', () => {
  it('returns a long value exactly, whatever its characters (held as bytes, or as a string when UTF-8 cannot carry it)', async () => {
    const backend = new MemoryBackend();
    const values = [
      'é😀 <p>page</p> '.repeat(OFF_HEAP_MIN_LENGTH),
      `${'x'.repeat(OFF_HEAP_MIN_LENGTH)}\uD800 lone`,
      `\uDC00${'y'.repeat(OFF_HEAP_MIN_LENGTH)}`,
    ];
    for (const [i, value] of values.entries()) await backend.set(`k${i}`, value, 0);
    expect(await backend.getMany(['k0', 'k1', 'k2'])).toEqual(values);
  });

  it('counts a long value by the bytes it is held in (its UTF-8 length rounded up) and a short one by 2 bytes per UTF-16 unit', async () => {
    const backend = new MemoryBackend();
    const long = 'é'.repeat(OFF_HEAP_MIN_LENGTH); // 2 UTF-8 bytes each: 2,048 bytes, a size class of its own
    await backend.set('k', long, 0);
    expect((await backend.stats()).bytes).toBe(2 + 2048);
    await backend.set('k', `${long}x`, 0); // 2,049 bytes, held in 2,176 (2,048 rounded up by 128)
    expect((await backend.stats()).bytes).toBe(2 + 2176);
    await backend.set('k', 'é', 0);
    expect((await backend.stats()).bytes).toBe(2 + 2);
  });

  it('rounds a held length up by at most a sixteenth of its power of two', () => {
    expect([1024, 1025, 1088, 1089, 8191, 8192, 8193, 100_000].map(heldCapacity)).toEqual([1024, 1088, 1088, 1152, 8192, 8192, 8704, 102_400]);
    for (let length = 1024; length < 70_000; length += 97) {
      expect(heldCapacity(length)).toBeGreaterThanOrEqual(length);
      expect(heldCapacity(length)).toBeLessThanOrEqual(length * 1.0625);
    }
  });

  it('evicts an entry passed over once and not read since before a newer one', async () => {
    const backend = new MemoryBackend({ threshold: 3 });
    for (const key of ['a', 'b', 'c']) await backend.set(key, key, 0);
    await backend.get('a');
    await backend.get('b');
    await backend.set('d', 'd', 0); // a and b were read: c goes
    expect(await backend.has('c')).toBe(false);
    await backend.set('e', 'e', 0); // a was passed over and not read since: it goes, d stays
    expect(await backend.has('a')).toBe(false);
    expect(await backend.getMany(['b', 'd', 'e'])).toEqual(['b', 'd', 'e']);
  });

  it('never evicts the entry being written', async () => {
    const backend = new MemoryBackend({ threshold: 2 });
    await backend.set('a', 'a', 0);
    await backend.set('b', 'b', 0);
    await backend.getMany(['a', 'b']);
    await backend.set('c', 'c', 0);
    expect(await backend.get('c')).toBe('c');
    expect((await backend.stats()).entries).toBe(2);
  });
});

describe('MemoryStore bytes of evicted values', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const page = (i: number, length = 8000) => `<p>page ${String(i).padStart(6, '0')}</p>`.padEnd(length, 'x');

  it('writes a value into the bytes of the one it evicts when they are the same size: a full cache allocates nothing more', () => {
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const store = new MemoryStore({ threshold: 10 });
    for (let i = 0; i < 10; i++) store.write(`k${i}`, page(i), 0);
    expect(allocations).toHaveBeenCalledTimes(10);
    for (let i = 10; i < 200; i++) store.write(`k${i}`, page(i), 0);
    expect(allocations).toHaveBeenCalledTimes(10);
    const clock = { now: () => 0 };
    for (let i = 190; i < 200; i++) expect(store.read(`k${i}`, clock, false)?.value).toBe(page(i));
    expect(store.read('k189', clock, false)).toBeUndefined();
  });

  it('reuses the bytes of the value a key replaces, and never shows what they held before', () => {
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const store = new MemoryStore();
    const clock = { now: () => 0 };
    store.write('k', page(1, 8100), 0);
    store.write('k', page(2, 8000), 0); // same size class (8,192): same bytes, shorter value
    expect(allocations).toHaveBeenCalledTimes(1);
    expect(store.read('k', clock, false)?.value).toBe(page(2, 8000));
    store.write('k', `é${page(3, 7000)}`, 0); // another class: new bytes
    expect(allocations).toHaveBeenCalledTimes(2);
    expect(store.read('k', clock, false)?.value).toBe(`é${page(3, 7000)}`);
  });

  it('does not reuse bytes an entry still holds, nor bytes freed by another write', () => {
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const store = new MemoryStore();
    const clock = { now: () => 0 };
    store.write('a', page(1), 0);
    store.write('b', page(2), 0); // a is kept: new bytes
    store.remove('a'); // not a write: its bytes are left to the garbage collector
    store.write('c', page(3), 0);
    expect(allocations).toHaveBeenCalledTimes(3);
    expect([store.read('b', clock, false)?.value, store.read('c', clock, false)?.value]).toEqual([page(2), page(3)]);
  });
});
