import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import { Cache } from '../../src/cache/cache.ts';
import { SingleFlight } from '../../src/cache/single-flight.ts';

/** A promise the test settles by hand, so concurrent calls really overlap. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight.run()', () => {
  it('runs once per key while a call is in flight, and again afterwards', async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    let calls = 0;
    const run = () => flights.run('k', () => (calls += 1, gate.promise));
    const all = Promise.all([run(), run(), run()]);
    expect(flights.has('k')).toBe(true);
    gate.resolve('done');
    expect(await all).toEqual(['done', 'done', 'done']);
    expect(calls).toBe(1);
    expect(flights.size).toBe(0);
    await flights.run('k', () => (calls += 1));
    expect(calls).toBe(2);
  });

  it('keeps keys apart', async () => {
    const flights = new SingleFlight();
    let calls = 0;
    await Promise.all([flights.run('a', () => ++calls), flights.run('b', () => ++calls)]);
    expect(calls).toBe(2);
  });

  it('forgets a call whose function throws synchronously', async () => {
    const flights = new SingleFlight();
    await expect(flights.run('k', () => {
      throw new Error('sync');
    })).rejects.toThrow('sync');
    expect(flights.size).toBe(0);
    expect(await flights.run('k', () => 'next')).toBe('next');
  });
});

describe('cache.getOrSet() single-flight', () => {
  it('computes once for 100 concurrent misses on one key', async () => {
    const cache = new Cache({ backend: new MemoryBackend() });
    const gate = deferred<void>();
    let calls = 0;
    const compute = async () => {
      calls += 1;
      await gate.promise;
      return { rendered: calls };
    };
    const results = Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('page', compute)));
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    const values = await results;
    expect(calls).toBe(1);
    expect(values.every((v) => v.rendered === 1)).toBe(true);
  });

  it('shares one error with all 100 callers, stores nothing, and computes again next time', async () => {
    const cache = new Cache({ backend: new MemoryBackend() });
    const gate = deferred<void>();
    const failure = new Error('render failed');
    let calls = 0;
    const compute = async (): Promise<string> => {
      calls += 1;
      await gate.promise;
      throw failure;
    };
    const settled = Promise.allSettled(Array.from({ length: 100 }, () => cache.getOrSet('page', compute)));
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    const outcomes = await settled;
    expect(calls).toBe(1);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === failure)).toBe(true);
    expect(await cache.has('page')).toBe(false);
    expect(await cache.getOrSet('page', () => (calls += 1, 'ok'))).toBe('ok');
    expect(calls).toBe(2);
  });

  it('does not let a forced update join a plain lookup in flight', async () => {
    const cache = new Cache({ backend: new MemoryBackend() });
    await cache.set('k', 'old');
    let calls = 0;
    const [plain, forced] = await Promise.all([
      cache.getOrSet('k', () => `new ${++calls}`),
      cache.getOrSet('k', () => `new ${++calls}`, { forcedUpdate: () => true }),
    ]);
    expect(plain).toBe('old');
    expect(forced).toBe('new 1');
    expect(await cache.get('k')).toBe('new 1');
  });

  it('does not let a call after an invalidation join a computation that started before it', async () => {
    const cache = new Cache({ backend: new MemoryBackend() });
    const gate = deferred<void>();
    let version = 'old';
    let calls = 0;
    const compute = async () => {
      calls += 1;
      // Reads its data at once, then takes a while (a render, compressing it) before it is stored.
      const read = version;
      await gate.promise;
      return read;
    };
    const before = cache.getOrSet('page', compute, { tags: ['posts'] });
    await new Promise((resolve) => setImmediate(resolve));
    version = 'new';
    await cache.invalidateTags(['posts']);
    const after = cache.getOrSet('page', compute, { tags: ['posts'] });
    gate.resolve();
    expect([await before, await after, calls]).toEqual(['old', 'new', 2]);
    // The old computation was stored with the tag versions it started under: a miss now.
    expect(await cache.getOrSet('page', compute, { tags: ['posts'] })).toBe('new');
  });
});
