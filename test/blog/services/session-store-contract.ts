import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_TTL_MS, type SessionStore } from '../../../src/blog/services/sessions.ts';

/** Two stores over the same storage (two Kiln processes, in effect) and the clock they share. */
export interface SessionStorePair {
  store: SessionStore;
  /** A second store on the same storage, as another process would open it. */
  peer: SessionStore;
  /** Moves the stores' clock forward. */
  advance(ms: number): void;
  /** Closes both stores and removes the storage. */
  close(): Promise<void>;
}

/**
 * The behaviour every session store promises. A store's test file is a factory and one call:
 * `sessionStoreContract('redis', async () => ({ store, peer, advance, close }))`.
 */
export function sessionStoreContract(name: string, open: () => Promise<SessionStorePair>): void {
  describe(`${name} session store (contract)`, () => {
    let pair: SessionStorePair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.close();
    });

    it('get() returns undefined for an id never stored', async () => {
      expect(await pair.store.get('never-stored-id-0001')).toBeUndefined();
    });

    it('get() returns what set() stored, nested values and text intact', async () => {
      const data = { authorId: 1, csrf: 'tök€n', nested: { list: [1, 'two', null], flag: true }, _expire: 123, _maxAge: 456 };
      await pair.store.set('session-id-0000001', data, 60_000);
      expect(await pair.store.get('session-id-0000001')).toEqual(data);
    });

    it('set() replaces the previous data of the same id', async () => {
      await pair.store.set('session-id-0000001', { authorId: 1, old: true }, 60_000);
      await pair.store.set('session-id-0000001', { authorId: 2 }, 60_000);
      expect(await pair.store.get('session-id-0000001')).toEqual({ authorId: 2 });
    });

    it('keeps sessions apart by id', async () => {
      await pair.store.set('session-id-aaaaaaa', { who: 'a' }, 60_000);
      await pair.store.set('session-id-bbbbbbb', { who: 'b' }, 60_000);
      await pair.store.destroy('session-id-aaaaaaa');
      expect(await pair.store.get('session-id-aaaaaaa')).toBeUndefined();
      expect(await pair.store.get('session-id-bbbbbbb')).toEqual({ who: 'b' });
    });

    it('get() returns undefined once maxAge has passed, and not a millisecond before', async () => {
      await pair.store.set('session-id-0000001', { authorId: 1 }, 60_000);
      pair.advance(59_999);
      expect(await pair.store.get('session-id-0000001')).toEqual({ authorId: 1 });
      pair.advance(1);
      expect(await pair.store.get('session-id-0000001')).toBeUndefined();
    });

    it("set() without a maxAge, or with 'session', keeps the session for a day", async () => {
      await pair.store.set('session-id-0000001', { a: 1 });
      await pair.store.set('session-id-0000002', { b: 2 }, 'session');
      pair.advance(DEFAULT_SESSION_TTL_MS - 1);
      expect(await pair.store.get('session-id-0000001')).toEqual({ a: 1 });
      expect(await pair.store.get('session-id-0000002')).toEqual({ b: 2 });
      pair.advance(1);
      expect(await pair.store.get('session-id-0000001')).toBeUndefined();
      expect(await pair.store.get('session-id-0000002')).toBeUndefined();
    });

    it('a later set() renews the lifetime', async () => {
      await pair.store.set('session-id-0000001', { a: 1 }, 10_000);
      pair.advance(9_000);
      await pair.store.set('session-id-0000001', { a: 2 }, 10_000);
      pair.advance(9_000);
      expect(await pair.store.get('session-id-0000001')).toEqual({ a: 2 });
    });

    it('destroy() removes the session, and accepts an id that is not there', async () => {
      await pair.store.set('session-id-0000001', { authorId: 1 }, 60_000);
      await pair.store.destroy('session-id-0000001');
      expect(await pair.store.get('session-id-0000001')).toBeUndefined();
      await expect(pair.store.destroy('session-id-0000001')).resolves.toBeUndefined();
    });

    it('a session stored by one process is read by another, and a destroy in either revokes it in both', async () => {
      await pair.store.set('session-id-0000001', { authorId: 1 }, 60_000);
      expect(await pair.peer.get('session-id-0000001')).toEqual({ authorId: 1 });
      await pair.peer.set('session-id-0000001', { authorId: 1, renewed: true }, 60_000);
      expect(await pair.store.get('session-id-0000001')).toEqual({ authorId: 1, renewed: true });
      await pair.peer.destroy('session-id-0000001');
      expect(await pair.store.get('session-id-0000001')).toBeUndefined();
    });
  });
}
