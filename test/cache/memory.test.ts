import { describe, expect, it } from 'vitest';
import { MemoryBackend, MemoryStore } from '../../src/cache/backends/memory.ts';
import { backendContract } from './backend-contract.ts';
import { FakeClock } from './helpers.ts';

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
