import { randomBytes } from 'node:crypto';
import type { CacheLock } from '../../types.ts';

/**
 * The Redis lock behind distributed single-flight (single-flight.ts): `SET lock token NX PX ttl`,
 * with a random token and an expiry, so only its holder can release it (a compare-and-delete
 * script) and a holder that crashes holds it no longer than the expiry.
 */

/** Deletes KEYS[1] only while it still holds ARGV[1]: a lock released by its holder alone. */
export const COMPARE_AND_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** The two commands a lock needs from a store, with the store's key prefix already applied. */
export interface LockCommands {
  /** `SET key token NX PX ttlMs`: resolves whether it was set. */
  setIfAbsent(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Atomically deletes `key` if it holds `token` (see {@link COMPARE_AND_DELETE}); resolves whether it did. */
  deleteIfEquals(key: string, token: string): Promise<boolean>;
}

/** Takes the lock `key` for `ttlMs` with a fresh random token; undefined when someone else holds it. */
export async function takeLock(commands: LockCommands, key: string, ttlMs: number): Promise<CacheLock | undefined> {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`lock ttlMs must be a positive integer, got ${ttlMs}`);
  const token = randomBytes(16).toString('base64url');
  if (!(await commands.setIfAbsent(key, token, ttlMs))) return undefined;
  let released = false;
  return {
    release: async () => {
      if (released) return false;
      released = true;
      return commands.deleteIfEquals(key, token);
    },
  };
}
