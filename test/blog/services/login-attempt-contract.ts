import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoginAttemptStore } from '../../../src/blog/services/login-attempts.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** Two stores over the same storage (two Kiln processes, in effect) and the clock they share. */
export interface LoginAttemptPair {
  store: LoginAttemptStore;
  /** A second store on the same storage, as another process would open it. */
  peer: LoginAttemptStore;
  clock: FakeClock;
  /** Closes both stores and removes the storage. */
  close(): Promise<void>;
}

const WINDOW = 15 * 60_000;

/**
 * The behaviour every login attempt store promises. A store's test file is a factory and one
 * call: `loginAttemptContract('redis', async () => ({ store, peer, clock, close }))`.
 */
export function loginAttemptContract(name: string, open: () => Promise<LoginAttemptPair>): void {
  describe(`${name} login attempt store (contract)`, () => {
    let pair: LoginAttemptPair;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.close();
    });

    it('hit() counts 1, 2, 3… in a window that ends windowMs after the first attempt', async () => {
      const start = pair.clock.now();
      expect(await pair.store.hit('203.0.113.7', WINDOW)).toEqual({ count: 1, resetAt: start + WINDOW });
      pair.clock.advance(60_000);
      expect(await pair.store.hit('203.0.113.7', WINDOW)).toEqual({ count: 2, resetAt: start + WINDOW });
      expect(await pair.peer.hit('203.0.113.7', WINDOW)).toEqual({ count: 3, resetAt: start + WINDOW });
    });

    it('hit() starts a new window once the last one has ended', async () => {
      for (let i = 0; i < 5; i++) await pair.store.hit('203.0.113.7', WINDOW);
      pair.clock.advance(WINDOW);
      expect(await pair.store.hit('203.0.113.7', WINDOW)).toEqual({ count: 1, resetAt: pair.clock.now() + WINDOW });
    });

    it('counts each client apart', async () => {
      await pair.store.hit('203.0.113.7', WINDOW);
      await pair.store.hit('203.0.113.7', WINDOW);
      expect((await pair.store.hit('198.51.100.1', WINDOW)).count).toBe(1);
      expect((await pair.store.hit('2001:db8:1:2::/64', WINDOW)).count).toBe(1);
    });

    it('reset() forgets the client in every process, and only that client', async () => {
      for (let i = 0; i < 5; i++) await pair.store.hit('203.0.113.7', WINDOW);
      await pair.store.hit('198.51.100.1', WINDOW);
      await pair.store.reset('203.0.113.7');
      await pair.store.reset('never-seen');
      expect((await pair.peer.hit('203.0.113.7', WINDOW)).count).toBe(1);
      expect((await pair.peer.hit('198.51.100.1', WINDOW)).count).toBe(2);
    });

    it('gives 60 attempts made at once through two processes each count from 1 to 60 exactly once', async () => {
      const counts = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? pair.store : pair.peer).hit('203.0.113.7', WINDOW).then((c) => c.count)),
      );
      expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    });
  });
}
