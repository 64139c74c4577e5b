import { describe, expect, it, vi } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheEvent } from '../../src/cache/types.ts';
import { FlakyBackend } from './helpers.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

/** A memory cache whose backend can be told to fail its next deletes. */
function peekable() {
  const clock = new FakeClock();
  const backend = new MemoryBackend({ clock });
  const failDeletes = { on: false };
  const realDelete = backend.delete.bind(backend);
  backend.delete = async (key) => {
    if (failDeletes.on) throw new Error('backend unavailable');
    return realDelete(key);
  };
  const cache = new Cache({ backend, clock, logger: new MemoryLogger() });
  const events: CacheEvent[] = [];
  cache.events.on('op', (event: CacheEvent) => events.push(event));
  return { cache, clock, backend, failDeletes, events };
}

describe('Cache.peek', () => {
  it('decides what get would, in this tick: values, misses, expiry and invalidated tags', async () => {
    const { cache, clock } = peekable();
    expect(cache.peek('absent')).toEqual({ value: undefined });
    await cache.set('k', { n: 1 }, { timeout: 10, tags: ['t'] });
    expect(cache.peek('k')).toEqual({ value: { n: 1 } });
    await cache.invalidateTags(['t']);
    expect(cache.peek('k')).toEqual({ value: undefined });
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', 'again', { timeout: 10 });
    clock.advance(10_001);
    expect(cache.peek('k')).toEqual({ value: undefined });
  });

  it('answers a key peeked before without reading while the backend is unchanged, until what it read expires', async () => {
    const { cache, clock, backend } = peekable();
    await cache.set('page', 'v1', { timeout: 60, tags: ['t'] });
    const reads = vi.spyOn(backend, 'peekMany');
    expect(cache.peek('page')).toEqual({ value: 'v1' });
    const afterFirst = reads.mock.calls.length;
    for (let i = 0; i < 5; i++) expect(cache.peek('page')).toEqual({ value: 'v1' });
    expect(reads.mock.calls.length).toBe(afterFirst); // one stamp check each, no read
    await cache.set('unrelated', 1); // any change: read again
    expect(cache.peek('page')).toEqual({ value: 'v1' });
    expect(reads.mock.calls.length).toBeGreaterThan(afterFirst);
    clock.advance(60_000);
    expect(cache.peek('page')).toEqual({ value: undefined });
  });

  it('is reported like a get: one event per peek, with its origin', async () => {
    const { cache, events } = peekable();
    await cache.set('k', 'v');
    events.length = 0;
    cache.peek('k', { origin: 'view', detail: '/' });
    cache.peek('nope', { origin: 'view' });
    expect(events.map((e) => [e.op, e.key, e.result, e.origin])).toEqual([
      ['get', 'k', 'hit', 'view'],
      ['get', 'nope', 'miss', 'view'],
    ]);
  });

  it('cannot tell (undefined) on a backend that can only be awaited, or for a corrupt entry, which get then repairs', async () => {
    const clock = new FakeClock();
    expect(new Cache({ backend: new FlakyBackend(new MemoryBackend({ clock })), clock }).peek('k')).toBeUndefined();
    const { cache, backend } = peekable();
    await backend.set('bad', '{"k":1,"v":', 0);
    expect(cache.peek('bad')).toBeUndefined();
    expect(await cache.get('bad')).toBeUndefined();
    expect(await backend.get('bad')).toBeUndefined();
  });

  it('misses while an invalidation that failed is still pending, as get does', async () => {
    const { cache, failDeletes } = peekable();
    await cache.set('k', 'v');
    failDeletes.on = true;
    await cache.delete('k');
    expect(cache.peek('k')).toEqual({ value: undefined });
    failDeletes.on = false;
  });

  it('shares one frozen value between peeks of the same stored entry, and never freezes what get returns', async () => {
    const { cache } = peekable();
    await cache.set('k', { list: [1, 2] });
    const first = cache.peek<{ list: number[] }>('k')?.value;
    expect(cache.peek('k')?.value).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first?.list)).toBe(true);
    const got = await cache.get<{ list: number[] }>('k');
    got?.list.push(3);
    expect(cache.peek('k')?.value).toEqual({ list: [1, 2] });
    await cache.set('k', { list: [9] });
    expect(cache.peek('k')?.value).toEqual({ list: [9] });
    await cache.set('buf', Buffer.from('bytes'));
    const buffer = cache.peek<Buffer>('buf')?.value;
    expect(Buffer.isBuffer(buffer) && !Object.isFrozen(buffer)).toBe(true);
  });
});
