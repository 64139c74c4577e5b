import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { normalizeBackend } from '../../src/cache/backends/normalize.ts';
import { Cache } from '../../src/cache/cache.ts';
import { tagKey } from '../../src/cache/keys.ts';
import { TagStore } from '../../src/cache/tags.ts';
import { FlakyBackend } from './helpers.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

function setup() {
  const backend = new MemoryBackend();
  return { backend, cache: new Cache({ backend, throwOnErrors: true }) };
}

describe('cache.invalidateTags()', () => {
  it('makes every entry with the tag a miss and leaves others', async () => {
    const { cache } = setup();
    await cache.set('index:1', 'p1', { tags: ['index', 'post:1'] });
    await cache.set('index:2', 'p2', { tags: ['index'] });
    await cache.set('post:1', 'one', { tags: ['post:1'] });
    await cache.set('post:2', 'two', { tags: ['post:2'] });
    await cache.set('plain', 'untagged');
    expect(await cache.invalidateTags(['post:1'])).toBe(true);
    expect(await cache.getMany(['index:1', 'index:2', 'post:1', 'post:2', 'plain'])).toEqual([
      undefined,
      'p2',
      undefined,
      'two',
      'untagged',
    ]);
  });

  it('lets an entry stored after the invalidation hit again', async () => {
    const { cache } = setup();
    await cache.set('k', 'old', { tags: ['t'] });
    await cache.invalidateTags(['t']);
    await cache.set('k', 'new', { tags: ['t'] });
    expect(await cache.get('k')).toBe('new');
  });

  it('treats an entry as stale when its tag key was lost (evicted or cleared)', async () => {
    const { cache, backend } = setup();
    await cache.set('k', 'v', { tags: ['t'] });
    await backend.delete(tagKey('t'));
    expect(await cache.get('k')).toBeUndefined();
    // Recreating the tag (by another write) never revives the old entry.
    await cache.set('other', 'x', { tags: ['t'] });
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.get('other')).toBe('x');
  });

  it('wins over a computation that started before it (no stale write-back)', async () => {
    const { cache } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const computing = cache.getOrSet(
      'page',
      async () => {
        await gate;
        return 'rendered from old data';
      },
      { tags: ['post:1'] },
    );
    await new Promise((resolve) => setImmediate(resolve));
    await cache.invalidateTags(['post:1']); // the author saves while the page renders
    release();
    expect(await computing).toBe('rendered from old data');
    expect(await cache.get('page')).toBeUndefined();
  });

  it('applies across caches sharing a backend (other processes)', async () => {
    const backend = new MemoryBackend();
    const one = new Cache({ backend });
    const two = new Cache({ backend });
    await one.set('k', 'v', { tags: ['t'] });
    expect(await two.get('k')).toBe('v');
    await two.invalidateTags(['t']);
    expect(await one.get('k')).toBeUndefined();
  });

  it('serves a miss, not a stale entry, when tag versions cannot be read', async () => {
    const backend = new FlakyBackend(new MemoryBackend());
    const cache = new Cache({ backend, logger: new MemoryLogger() });
    await cache.set('k', 'v', { tags: ['t'] });
    expect(await cache.get('k')).toBe('v');
    let reads = 0;
    const original = backend.get.bind(backend);
    // The entry read succeeds; the tag read (a second get) fails.
    backend.get = async (key: string) => {
      reads += 1;
      if (reads > 1) throw new Error('tag read failed');
      return original(key);
    };
    expect(await cache.get('k')).toBeUndefined();
    expect(cache.health()).toBe('degraded');
  });
});

describe('TagStore', () => {
  it('creates a version once and keeps it until invalidated', async () => {
    const store = new TagStore(normalizeBackend(new MemoryBackend()));
    const first = await store.current(['a', 'a', 'b']);
    expect(Object.keys(first).sort()).toEqual(['a', 'b']);
    expect(await store.current(['a'])).toEqual({ a: first.a });
    await store.invalidate(['a']);
    const after = await store.current(['a', 'b']);
    expect(after.a).not.toBe(first.a);
    expect(after.b).toBe(first.b);
    expect(await store.fresh([first, { b: first.b }, undefined])).toEqual([false, true, true]);
  });

  it('stores tag versions with no expiry', async () => {
    const backend = new MemoryBackend();
    const ttls: number[] = [];
    const add = backend.add.bind(backend);
    backend.add = (key, value, ttl) => (ttls.push(ttl), add(key, value, ttl));
    await new TagStore(normalizeBackend(backend)).current(['t']);
    expect(ttls).toEqual([0]);
  });
});
