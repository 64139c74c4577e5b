import { afterEach, describe, expect, it } from 'vitest';
import { NearCacheBackend } from '../../src/cache/distributed/near-cache.ts';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheBackend } from '../../src/cache/types.ts';
import { uniquePrefix } from './helpers.ts';
import { waitUntil } from '../support/wait.ts';

/** Builds one "process" worth of backend (its own connections) for a shared key prefix. */
export type NodeFactory = (prefix: string) => CacheBackend | Promise<CacheBackend>;

/** Rounds of write-in-one, read-in-the-others; more with KILN_FULL=1. */
const ROUNDS = process.env.KILN_FULL === '1' ? 500 : 60;

/**
 * The cross-process coherence suite: several caches, each with its own connections, near layer
 * and coherence subscription, stand for several processes on one Redis deployment. Whatever one
 * changes, the others see on their very next read.
 */
export function coherenceSuite(name: string, factory: NodeFactory): void {
  const opened: Cache[] = [];

  afterEach(async () => {
    await opened[0]?.clear();
    for (const cache of opened.splice(0)) await cache.close();
  });

  /** `count` caches on one fresh prefix, each with its near layer live. */
  async function processes(count: number): Promise<Cache[]> {
    const prefix = uniquePrefix(`coherence-${name}`);
    const caches: Cache[] = [];
    for (let i = 0; i < count; i++) {
      const backend = await factory(prefix);
      if (!(backend instanceof NearCacheBackend)) throw new Error('the coherence suite needs a near cache (NearCacheBackend)');
      await backend.whenLive();
      const cache = new Cache({ backend, throwOnErrors: true });
      caches.push(cache);
      opened.push(cache);
    }
    return caches;
  }

  function nearOf(cache: Cache): NearCacheBackend {
    if (!(cache.backend instanceof NearCacheBackend)) throw new Error('not a near cache');
    return cache.backend;
  }

  /** Reads `key` in every cache twice, so each holds a near copy. */
  async function warm(caches: Cache[], key: string): Promise<void> {
    for (const cache of caches) {
      await cache.get(key);
      await cache.get(key);
    }
  }

  describe(`cross-process coherence on ${name}`, () => {
    it('serves repeated reads from each process\'s near copy', async () => {
      const [a, b] = await processes(2);
      await a.set('k', 'v', { tags: ['t'] });
      await warm([a, b], 'k');
      expect(nearOf(b).near.read('k', { now: () => Date.now() }, false)?.value).toBeDefined();
      expect(await b.get('k')).toBe('v');
    });

    it('makes every invalidation in one process visible to the others on their very next read', async () => {
      const [a, b, c] = await processes(3);
      const readers = [b, c];
      const expectEverywhere = async (key: string, value: unknown): Promise<void> => {
        for (const reader of readers) expect(await reader.get(key)).toEqual(value);
      };

      await a.set('k', 1);
      await warm(readers, 'k');
      await a.delete('k');
      await expectEverywhere('k', undefined);

      await a.setMany({ m1: 1, m2: 2 });
      await warm(readers, 'm1');
      await warm(readers, 'm2');
      await a.deleteMany(['m1', 'm2']);
      await expectEverywhere('m1', undefined);
      await expectEverywhere('m2', undefined);

      await a.set('tagged', 'page', { tags: ['post:1'] });
      await warm(readers, 'tagged');
      await expectEverywhere('tagged', 'page');
      await c.invalidateTags(['post:1']);
      for (const reader of [a, b]) expect(await reader.get('tagged')).toBeUndefined();

      await a.set('gone', 'soon');
      await warm(readers, 'gone');
      await a.clear();
      await expectEverywhere('gone', undefined);
    });

    it('shows an overwrite (set, setMany, add, incr) to the others as soon as its announcement arrives', async () => {
      const [a, b, c] = await processes(3);
      const seenEverywhere = async (key: string, value: unknown): Promise<void> => {
        for (const reader of [b, c]) {
          await waitUntil(async () => (await reader.get(key)) === value, { timeoutMs: 2000, intervalMs: 1, what: `${key} = ${String(value)}` });
          expect(await reader.get(key)).toEqual(value);
        }
      };
      await a.set('k', 1);
      await warm([b, c], 'k');
      await a.set('k', 2);
      await seenEverywhere('k', 2);
      await a.setMany({ k: 3 });
      await seenEverywhere('k', 3);
      await a.incr('k', 10);
      await seenEverywhere('k', 13);
      await a.delete('k');
      await a.add('k', 'added');
      await seenEverywhere('k', 'added');
    });

    it('makes deleteMemoized() in one process drop the results in every process', async () => {
      const caches = await processes(3);
      let calls = 0;
      const versions = caches.map((cache) => cache.memoize(async (id: number) => `${id}:${++calls}`, { name: 'render' }));
      const [a, b, c] = versions;
      const first = await a(1);
      expect(await b(1)).toBe(first);
      expect(await c(1)).toBe(first);
      await caches[0].deleteMemoized(a, 1);
      const second = await b(1);
      expect(second).not.toBe(first);
      expect(await c(1)).toBe(second);
      await caches[2].deleteMemoized(c);
      const third = await a(1);
      expect(third).not.toBe(second);
      expect(await b(1)).toBe(third);
    });

    it(`never serves an invalidated entry in ${ROUNDS} rounds of invalidate-then-read across processes`, async () => {
      const caches = await processes(3);
      let stale = 0;
      for (let i = 0; i < ROUNDS; i++) {
        await caches[i % caches.length].invalidateTags(['lists']);
        for (const reader of caches) {
          // The blog's pattern: an edit invalidates, the next reader renders, the others reuse it.
          const seen = await reader.getOrSet('page', () => ({ version: i }), { tags: ['lists'] });
          if (seen.version !== i) stale += 1;
          expect(await reader.get('page')).toEqual(seen); // now from the near copy
        }
      }
      expect(stale).toBe(0);
    });

    it('computes a cold key once across three processes (distributed single-flight)', async () => {
      const caches = await processes(3);
      let computed = 0;
      const slow = async (): Promise<string> => {
        computed += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return 'rendered';
      };
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => caches[i % 3].getOrSet('cold', slow, { tags: ['lists'] })),
      );
      expect(new Set(results)).toEqual(new Set(['rendered']));
      expect(computed).toBe(1);
    });
  });
}
