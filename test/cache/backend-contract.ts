import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/cache.ts';
import type { AnyBackend } from '../../src/cache/backends/capabilities.ts';
import { systemClock, type CacheBackend, type Clock } from '../../src/cache/types.ts';
import { uniquePrefix } from './helpers.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { waitUntil } from '../support/wait.ts';

/** What the contract suite passes to a backend factory. */
export interface ContractFactoryOptions {
  /** The key prefix this backend instance must write under. */
  prefix: string;
  /** The clock the backend must use for expiry (ignored by stores with their own clock). */
  clock: Clock;
}

/** Builds one backend; called once or twice per test (twice for prefix isolation). */
export type ContractFactory = (opts: ContractFactoryOptions) => Promise<AnyBackend>;

/** Capabilities that change what the suite can expect from a backend. */
export interface ContractCapabilities {
  /**
   * The backend expires entries by the injected clock (default true). Stores with their own
   * clock (Redis) pass false: TTL is then proven with a real 0.2 s timeout, polled until it passes.
   */
  fakeClock?: boolean;
  /** The backend deliberately stores nothing (the null backend); it gets its own expectations. */
  storesNothing?: boolean;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const UNICODE = 'emoji 😀🎉 surrogates 𝄞𠜎 RTL שלום مرحبا combining é e\u0301 nul\u0000 crlf\r\n';

/**
 * The one suite every backend passes. A backend's test file is a factory, a teardown and one call:
 * `backendContract('memory', async ({ prefix, clock }) => new MemoryBackend({ prefix, clock }))`.
 * Each test clears and closes the backends it made, then runs `teardown`.
 */
export function backendContract(
  name: string,
  factory: ContractFactory,
  teardown?: () => Promise<void> | void,
  capabilities: ContractCapabilities = {},
): void {
  const fakeClock = capabilities.fakeClock ?? true;
  let made: AnyBackend[] = [];
  let clock = new FakeClock();

  async function make(label = 'a'): Promise<AnyBackend> {
    const backend = await factory({ prefix: uniquePrefix(`${name}-${label}`), clock: fakeClock ? clock : systemClock });
    made.push(backend);
    return backend;
  }

  function facade(backend: AnyBackend): Cache {
    return new Cache({ backend, clock: fakeClock ? clock : systemClock, throwOnErrors: true });
  }

  afterEach(async () => {
    for (const backend of made) {
      await backend.clear();
      await backend.close?.();
    }
    made = [];
    clock = new FakeClock();
    await teardown?.();
  });

  if (capabilities.storesNothing) {
    describe(`${name} backend contract (stores nothing)`, () => {
      it('reports every key as absent after set, add and incr', async () => {
        const backend = await make();
        await backend.set('k', 'v', 0);
        expect(await backend.add('k2', 'v', 0)).toBe(true);
        expect(await backend.get('k')).toBeUndefined();
        expect(await backend.has('k')).toBe(false);
        expect(await backend.delete('k')).toBe(false);
        await backend.clear();
      });

      it('makes the cache compute every time', async () => {
        const cache = facade(await make());
        let calls = 0;
        await cache.getOrSet('k', () => ++calls);
        await cache.getOrSet('k', () => ++calls);
        expect(calls).toBe(2);
        expect(await cache.get('k')).toBeUndefined();
      });
    });
    return;
  }

  describe(`${name} backend contract`, () => {
    describe('backend.get() / set()', () => {
      it('returns undefined for a missing key', async () => {
        const backend = await make();
        expect(await backend.get('missing')).toBeUndefined();
      });

      it('returns the stored string, including the empty string', async () => {
        const backend = await make();
        await backend.set('a', 'alpha', 0);
        await backend.set('empty', '', 0);
        expect(await backend.get('a')).toBe('alpha');
        expect(await backend.get('empty')).toBe('');
      });

      it('replaces a previous value', async () => {
        const backend = await make();
        await backend.set('a', 'one', 0);
        await backend.set('a', 'two', 0);
        expect(await backend.get('a')).toBe('two');
      });

      it('keeps unicode keys and values intact', async () => {
        const backend = await make();
        await backend.set(`key ${UNICODE}`, UNICODE, 0);
        expect(await backend.get(`key ${UNICODE}`)).toBe(UNICODE);
      });

      it('keeps every byte value of a latin1 string', async () => {
        const backend = await make();
        const raw = ALL_BYTES.toString('latin1');
        await backend.set('bytes', raw, 0);
        expect(await backend.get('bytes')).toBe(raw);
      });

      it('stores a 1 MB value', async () => {
        const backend = await make();
        const big = 'x'.repeat(1024 * 1024 - 3) + 'end';
        await backend.set('big', big, 0);
        expect(await backend.get('big')).toBe(big);
      });
    });

    describe('backend.peekMany()', () => {
      it('answers what getMany resolves whenever it answers, through writes, deletes and expiry', async () => {
        const backend = await make();
        const peek = backend.peekMany?.bind(backend);
        if (peek === undefined) return; // optional: a backend without it is read with getMany only
        /** What peekMany says, where it answers, must equal what getMany says. */
        const agree = async (keys: string[]) => {
          const peeked = peek(keys)?.map((entry) => entry?.value);
          const read = backend.getMany ? await backend.getMany(keys) : await Promise.all(keys.map((k) => backend.get(k)));
          if (peeked !== undefined) expect(peeked).toEqual(read);
          return peeked;
        };
        await backend.set('a', 'alpha', 0);
        await backend.set('b', '', 0);
        await agree(['a', 'b', 'missing']);
        await agree(['a', 'b']);
        await backend.set('a', 'again', 0);
        await agree(['a']);
        await agree(['a']);
        await backend.delete('b');
        await agree(['b', 'a']);
        if (fakeClock) {
          await backend.set('t', 'soon gone', 2);
          await agree(['t']);
          const expiresAt = peek(['t'])?.[0]?.expiresAt;
          if (expiresAt !== undefined) expect(expiresAt).toBe(clock.now() + 2000);
          clock.advance(2001);
          await agree(['t']);
        }
      });
    });

    describe('backend.add()', () => {
      it('stores only when the key is absent', async () => {
        const backend = await make();
        expect(await backend.add('a', 'first', 0)).toBe(true);
        expect(await backend.add('a', 'second', 0)).toBe(false);
        expect(await backend.get('a')).toBe('first');
      });
    });

    describe('backend.delete() / has()', () => {
      it('reports whether the key existed', async () => {
        const backend = await make();
        await backend.set('a', 'v', 0);
        expect(await backend.has('a')).toBe(true);
        expect(await backend.delete('a')).toBe(true);
        expect(await backend.delete('a')).toBe(false);
        expect(await backend.has('a')).toBe(false);
        expect(await backend.get('a')).toBeUndefined();
      });
    });

    describe('backend.clear()', () => {
      it('removes every entry of this backend', async () => {
        const backend = await make();
        await backend.set('a', '1', 0);
        await backend.set('b', '2', 0);
        await backend.clear();
        expect(await backend.get('a')).toBeUndefined();
        expect(await backend.get('b')).toBeUndefined();
      });
    });

    describe('batch operations on the backend', () => {
      it('getMany/setMany/deleteMany keep order and report misses', async () => {
        const backend = await make();
        const cache = facade(backend);
        // Through the facade so backends without native batch members are covered too.
        expect(await cache.setMany([['a', 1], ['b', 'two'], ['c', null]])).toBe(true);
        expect(await cache.getMany(['a', 'missing', 'b', 'c'])).toEqual([1, undefined, 'two', null]);
        expect(await cache.deleteMany(['a', 'missing', 'c'])).toBe(2);
        expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, 'two', undefined]);
        if (backend.getMany && backend.setMany && backend.deleteMany) {
          await backend.setMany([['x', '1'], ['y', '2']], 0);
          expect(await backend.getMany(['x', 'nope', 'y'])).toEqual(['1', undefined, '2']);
          expect(await backend.deleteMany(['x', 'nope'])).toBe(1);
          expect(await backend.getMany(['x', 'y'])).toEqual([undefined, '2']);
        }
      });

      it('all work through the cache on a plain object with only the seven required members', async () => {
        const backend = await make();
        const bare: CacheBackend = {
          name: 'bare',
          get: (key) => backend.get(key),
          set: (key, value, ttl) => backend.set(key, value, ttl),
          add: (key, value, ttl) => backend.add(key, value, ttl),
          delete: (key) => backend.delete(key),
          has: (key) => backend.has(key),
          clear: () => backend.clear(),
        };
        const cache = facade(bare);
        expect(await cache.setMany([['a', 1], ['b', 'two']], { tags: ['t'] })).toBe(true);
        expect(await cache.getMany(['a', 'missing', 'b'])).toEqual([1, undefined, 'two']);
        expect(await cache.deleteMany(['a', 'missing'])).toBe(1);
        expect(await cache.incr('n', 3)).toBe(3);
        expect(await cache.invalidateTags(['t'])).toBe(true);
        expect(await cache.getMany(['b', 'n'])).toEqual([undefined, 3]);
        expect((await cache.stats()).backend).toEqual({});
      });

      it('handles many keys in one batch', async () => {
        const cache = facade(await make());
        const entries = Array.from({ length: 300 }, (_, i) => [`key-${i}`, { i }] as [string, unknown]);
        await cache.setMany(entries);
        const values = await cache.getMany(entries.map(([key]) => key));
        expect(values).toEqual(entries.map(([, value]) => value));
      });
    });

    describe('backend.incr()', () => {
      it('counts from zero, adds deltas and stores the decimal string', async () => {
        const backend = await make();
        const cache = facade(backend);
        expect(await cache.incr('n')).toBe(1);
        expect(await cache.incr('n', 5)).toBe(6);
        expect(await cache.decr('n', 10)).toBe(-4);
        expect(await backend.get('n')).toBe('-4');
        expect(await cache.get('n')).toBe(-4);
      });

      it('increments a number stored with set()', async () => {
        const cache = facade(await make());
        await cache.set('n', 41);
        expect(await cache.incr('n')).toBe(42);
        expect(await cache.get('n')).toBe(42);
      });

      it('loses no increment under 50 concurrent calls', async () => {
        const cache = facade(await make());
        await Promise.all(Array.from({ length: 50 }, () => cache.incr('n')));
        expect(await cache.get('n')).toBe(50);
      });
    });

    describe('timeouts', () => {
      if (fakeClock) {
        it('expires an entry after its timeout, not before', async () => {
          const backend = await make();
          await backend.set('t', 'v', 10);
          clock.advance(9_999);
          expect(await backend.get('t')).toBe('v');
          expect(await backend.has('t')).toBe(true);
          clock.advance(2);
          expect(await backend.get('t')).toBeUndefined();
          expect(await backend.has('t')).toBe(false);
        });

        it('never expires with a timeout of 0', async () => {
          const backend = await make();
          await backend.set('forever', 'v', 0);
          clock.advance(10 * 365 * 24 * 3600 * 1000);
          expect(await backend.get('forever')).toBe('v');
        });

        it('lets add() replace an expired entry', async () => {
          const backend = await make();
          await backend.set('a', 'old', 1);
          clock.advance(1_001);
          expect(await backend.add('a', 'new', 0)).toBe(true);
          expect(await backend.get('a')).toBe('new');
        });

        it('keeps the timeout across incr()', async () => {
          const cache = facade(await make());
          await cache.set('n', 1, { timeout: 10 });
          await cache.incr('n');
          clock.advance(10_001);
          expect(await cache.get('n')).toBeUndefined();
        });
      } else {
        it('expires an entry after its timeout (real time)', async () => {
          const backend = await make();
          // Long enough to be read back under a loaded machine, short enough not to slow the suite.
          await backend.set('t', 'v', 0.2);
          await backend.set('forever', 'v', 0);
          expect(await backend.get('t')).toBe('v');
          await waitUntil(async () => (await backend.get('t')) === undefined, { timeoutMs: 2_000, what: 'the 0.2 s entry to expire' });
          expect(await backend.get('t')).toBeUndefined();
          expect(await backend.has('t')).toBe(false);
          expect(await backend.get('forever')).toBe('v');
        });
      }
    });

    describe('prefix isolation', () => {
      it('keeps two prefixes independent, and clear() of one leaves the other', async () => {
        const one = await make('one');
        const two = await make('two');
        await one.set('shared', 'from one', 0);
        await two.set('shared', 'from two', 0);
        await two.set('only-two', 'x', 0);
        expect(await one.get('shared')).toBe('from one');
        expect(await one.get('only-two')).toBeUndefined();
        await one.clear();
        expect(await one.get('shared')).toBeUndefined();
        expect(await two.get('shared')).toBe('from two');
        expect(await two.get('only-two')).toBe('x');
      });
    });

    describe('values through the cache facade', () => {
      it('round-trips JSON data, null and the empty string', async () => {
        const cache = facade(await make());
        const value = { title: 'Hello', tags: ['a', 'b'], n: 1.5, nested: { ok: true, none: null } };
        await cache.set('obj', value);
        await cache.set('null', null);
        await cache.set('empty', '');
        expect(await cache.get('obj')).toEqual(value);
        expect(await cache.get('null')).toBeNull();
        expect(await cache.has('null')).toBe(true);
        expect(await cache.get('empty')).toBe('');
      });

      it('round-trips a Buffer holding all 256 byte values', async () => {
        const cache = facade(await make());
        await cache.set('bin', { body: ALL_BYTES });
        const back = await cache.get<{ body: Buffer }>('bin');
        expect(Buffer.isBuffer(back?.body)).toBe(true);
        expect(back?.body.equals(ALL_BYTES)).toBe(true);
      });

      it('round-trips unicode text', async () => {
        const cache = facade(await make());
        await cache.set(UNICODE, UNICODE);
        expect(await cache.get(UNICODE)).toBe(UNICODE);
      });

      it('round-trips a 1 MB Buffer', async () => {
        const cache = facade(await make());
        const big = Buffer.alloc(1024 * 1024, 7);
        big[big.length - 1] = 255;
        await cache.set('big', big);
        expect((await cache.get<Buffer>('big'))?.equals(big)).toBe(true);
      });

      it('add() refuses to overwrite and delete() removes', async () => {
        const cache = facade(await make());
        expect(await cache.add('k', 'first')).toBe(true);
        expect(await cache.add('k', 'second')).toBe(false);
        expect(await cache.get('k')).toBe('first');
        expect(await cache.delete('k')).toBe(true);
        expect(await cache.has('k')).toBe(false);
      });

      it('clear() empties the cache', async () => {
        const cache = facade(await make());
        await cache.set('a', 1);
        await cache.clear();
        expect(await cache.get('a')).toBeUndefined();
      });

      it('computes once in getOrSet() and serves the stored value after', async () => {
        const cache = facade(await make());
        let calls = 0;
        expect(await cache.getOrSet('k', () => ({ n: ++calls }))).toEqual({ n: 1 });
        expect(await cache.getOrSet('k', () => ({ n: ++calls }))).toEqual({ n: 1 });
        expect(calls).toBe(1);
      });

      it('makes tagged entries misses after invalidateTags()', async () => {
        const cache = facade(await make());
        await cache.set('post', 'body', { tags: ['post:1'] });
        await cache.set('other', 'body', { tags: ['post:2'] });
        expect(await cache.get('post')).toBe('body');
        await cache.invalidateTags(['post:1']);
        expect(await cache.get('post')).toBeUndefined();
        expect(await cache.get('other')).toBe('body');
      });
    });
  });
}
