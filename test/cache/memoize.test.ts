import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { Cache } from '../../src/cache/cache.ts';
import { memoVersionTag, tagKey } from '../../src/cache/keys.ts';
import type { CacheEvent } from '../../src/cache/types.ts';
import { FakeClock } from '../support/fake-clock.ts';

function setup() {
  const clock = new FakeClock();
  const backend = new MemoryBackend({ clock });
  const cache = new Cache({ backend, clock, throwOnErrors: true });
  return { clock, backend, cache };
}

function counted<A extends unknown[], R>(fn: (...args: A) => R) {
  const calls: A[] = [];
  const wrapped = (...args: A): R => {
    calls.push(args);
    return fn(...args);
  };
  return { calls, fn: wrapped };
}

describe('cache.memoize()', () => {
  it('computes once per distinct argument list', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((a: number, b: number) => a + b);
    const add = cache.memoize(fn, { name: 'add' });
    expect(await add(1, 2)).toBe(3);
    expect(await add(1, 2)).toBe(3);
    expect(await add(2, 1)).toBe(3);
    expect(calls).toEqual([[1, 2], [2, 1]]);
  });

  it('keys object arguments by content, whatever their key order', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((q: { page: number; category: string }) => `${q.category}/${q.page}`);
    const list = cache.memoize(fn, { name: 'list' });
    await list({ page: 1, category: 'news' });
    await list({ category: 'news', page: 1 });
    expect(calls).toHaveLength(1);
  });

  it('keeps "3" and 3 apart', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((id: unknown) => typeof id);
    const kind = cache.memoize(fn, { name: 'kind' });
    expect(await kind(3)).toBe('number');
    expect(await kind('3')).toBe('string');
    expect(calls).toHaveLength(2);
  });

  it('expires results after the timeout', async () => {
    const { cache, clock } = setup();
    const { calls, fn } = counted(() => 'v');
    const memo = cache.memoize(fn, { name: 'ttl', timeout: 10 });
    await memo();
    clock.advance(10_001);
    await memo();
    expect(calls).toHaveLength(2);
  });

  it('exposes the original as .uncached and the key as .makeCacheKey()', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((id: number) => id * 2);
    const double = cache.memoize(fn, { name: 'double' });
    expect(double.uncached(4)).toBe(8);
    expect(calls).toHaveLength(1);
    const key = await double.makeCacheKey(4);
    expect(key).toMatch(/^memo\|/);
    await double(4);
    expect(await cache.get(key ?? '')).toBe(8);
    expect(await double.makeCacheKey(5)).not.toBe(key);
  });

  it('uses fn.name, and requires a name for anonymous functions', () => {
    const { cache } = setup();
    function renderPost(id: number) {
      return id;
    }
    expect(cache.memoize(renderPost).cacheName).toBe('renderPost');
    expect(() => cache.memoize((x: number) => x, { name: '' })).toThrow(/name/);
    const anonymous = [(x: number) => x][0];
    expect(() => cache.memoize(anonymous)).toThrow(/name/);
  });

  it('refuses a name already used by a different function', () => {
    const { cache } = setup();
    cache.memoize((x: number) => x + 1, { name: 'same' });
    cache.memoize((x: number) => x + 1, { name: 'same' }); // the same code again is fine
    expect(() => cache.memoize((x: number) => x - 1, { name: 'same' })).toThrow(/already used/);
  });

  it('throws a clear TypeError for an argument with no stable form', async () => {
    const { cache } = setup();
    class Session {
      user = 'x';
    }
    const memo = cache.memoize((s: unknown) => s, { name: 'unstable' });
    await expect(memo(new Session())).rejects.toThrow(/instance of Session.*cacheId or toJSON/);
    await expect(memo(() => 1)).rejects.toThrow(/function/);
  });

  it('keys instances by their cacheId', async () => {
    const { cache } = setup();
    class Post {
      constructor(readonly id: number, readonly body: string) {}
      get cacheId() {
        return this.id;
      }
    }
    const { calls, fn } = counted((p: Post) => p.body.toUpperCase());
    const render = cache.memoize(fn, { name: 'render' });
    await render(new Post(1, 'a'));
    await render(new Post(1, 'a'));
    await render(new Post(2, 'b'));
    expect(calls).toHaveLength(2);
  });

  it('honours unless, forcedUpdate, shouldCache and negativeTimeout with the call arguments', async () => {
    const { cache, clock } = setup();
    type Args = [id: number, opts?: { bypass?: boolean }];
    const { calls, fn } = counted((...[id]: Args) => (id < 0 ? null : { id, status: id === 500 ? 500 : 200 }));
    const find = cache.memoize<Args, ReturnType<typeof fn>>(fn, {
      name: 'find',
      unless: (_id, opts) => opts?.bypass === true,
      forcedUpdate: (id) => id === 99,
      shouldCache: (result) => result?.status !== 500,
      negativeTimeout: 5,
    });
    await find(1, { bypass: true });
    await find(1, { bypass: true });
    expect(calls).toHaveLength(2);
    await find(99);
    await find(99);
    expect(calls).toHaveLength(4);
    await find(500);
    await find(500);
    expect(calls).toHaveLength(6);
    await find(-1);
    await find(-1);
    expect(calls).toHaveLength(7);
    clock.advance(5_001);
    await find(-1);
    expect(calls).toHaveLength(8);
    await find(1);
    await find(1);
    expect(calls).toHaveLength(9);
  });

  it('is single-flight: 100 concurrent calls with the same arguments compute once', async () => {
    const { cache } = setup();
    let calls = 0;
    const slow = cache.memoize(
      async (id: number) => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 10));
        return id;
      },
      { name: 'slow' },
    );
    const results = await Promise.all(Array.from({ length: 100 }, () => slow(7)));
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set([7]));
  });

  it('emits origin memoize with the function name', async () => {
    const { cache } = setup();
    const events: CacheEvent[] = [];
    cache.events.on('op', (event: CacheEvent) => events.push(event));
    const memo = cache.memoize((id: number) => id, { name: 'postBody' });
    await memo(1);
    await memo(1);
    expect(events.map((e) => `${e.op}:${e.result}:${e.origin}:${e.detail}`)).toEqual([
      'get:miss:memoize:postBody',
      'set:set:memoize:postBody',
      'get:hit:memoize:postBody',
    ]);
  });

  it('stores results under tags computed from the arguments', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((id: number) => `post ${id}`);
    const render = cache.memoize(fn, { name: 'tagged', tags: (id) => [`post:${id}`] });
    await render(1);
    await render(2);
    await cache.invalidateTags(['post:1']);
    await render(1);
    await render(2);
    expect(calls).toEqual([[1], [2], [1]]);
  });
});

describe('cache.deleteMemoized()', () => {
  it('drops every cached result of the function with one write', async () => {
    const { cache, backend } = setup();
    const { calls, fn } = counted((id: number) => id);
    const memo = cache.memoize(fn, { name: 'all' });
    await Promise.all([memo(1), memo(2), memo(3)]);
    const writes: string[] = [];
    const set = backend.setMany.bind(backend);
    backend.setMany = (entries, ttl) => (writes.push(...entries.map(([k]) => k)), set(entries, ttl));
    expect(await cache.deleteMemoized(memo)).toBe(true);
    expect(writes).toEqual([tagKey(memoVersionTag('all'))]);
    await Promise.all([memo(1), memo(2), memo(3)]);
    expect(calls).toHaveLength(6);
  });

  it('drops only the result for the given arguments', async () => {
    const { cache } = setup();
    const { calls, fn } = counted((a: number, b: string) => `${a}${b}`);
    const memo = cache.memoize(fn, { name: 'one' });
    await memo(1, 'x');
    await memo(2, 'y');
    expect(await cache.deleteMemoized(memo, 1, 'x')).toBe(true);
    expect(await cache.deleteMemoized(memo, 1, 'x')).toBe(false);
    await memo(1, 'x');
    await memo(2, 'y');
    expect(calls).toEqual([[1, 'x'], [2, 'y'], [1, 'x']]);
  });

  it('accepts the original function as well as the wrapper', async () => {
    const { cache } = setup();
    const { calls, fn } = counted(() => 'v');
    const memo = cache.memoize(fn, { name: 'orig' });
    await memo();
    await cache.deleteMemoized(fn);
    await memo();
    expect(calls).toHaveLength(2);
  });

  it('recomputes when the version key is lost, never serving an old version', async () => {
    const { cache, backend } = setup();
    const { calls, fn } = counted(() => 'v');
    const memo = cache.memoize(fn, { name: 'lost' });
    await memo();
    await backend.delete(tagKey(memoVersionTag('lost')));
    await memo();
    await memo();
    expect(calls).toHaveLength(2);
  });

  it('invalidates across caches sharing a backend', async () => {
    const backend = new MemoryBackend();
    const one = new Cache({ backend });
    const two = new Cache({ backend });
    let calls = 0;
    const source = (id: number) => {
      calls += 1;
      return id;
    };
    const a = one.memoize(source, { name: 'shared' });
    const b = two.memoize(source, { name: 'shared' });
    await a(1);
    await b(1);
    expect(calls).toBe(1);
    await two.deleteMemoized(b);
    await a(1);
    expect(calls).toBe(2);
  });
});

describe('cache.cached()', () => {
  it('caches an argument-less function under its key', async () => {
    const { cache } = setup();
    const { calls, fn } = counted(() => ({ categories: ['a', 'b'] }));
    const categories = cache.cached(fn, { key: 'sidebar:categories', timeout: 60 });
    expect(await categories()).toEqual({ categories: ['a', 'b'] });
    await categories();
    expect(calls).toHaveLength(1);
    expect(categories.makeCacheKey()).toBe('sidebar:categories');
    await cache.delete(categories.makeCacheKey());
    await categories();
    expect(calls).toHaveLength(2);
    expect(categories.uncached()).toEqual({ categories: ['a', 'b'] });
  });

  it('requires a key', () => {
    const { cache } = setup();
    expect(() => cache.cached(() => 1, { key: '' })).toThrow(/key/);
  });
});
