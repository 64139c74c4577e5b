import { randomBytes } from 'node:crypto';
import { CACHE_DEFAULTS } from './defaults.ts';
import { systemClock, type CacheLock, type Clock } from './types.ts';

/**
 * Distributed single-flight: one computation of a cold key across every process sharing a
 * backend.
 *
 * The process that misses first takes a short lock (`SET lock token NX PX ttl`) and computes;
 * the others poll for the value with a growing pause (cut short when the holder's write is
 * announced, see `CacheBackend.waitForChange`) and return it as soon as it is stored. The
 * lock carries a random token and an expiry: only its holder can release it (a compare-and-delete
 * script), and a holder that crashes delays the others by at most the lock's expiry, after which
 * the next one to try takes the lock and computes. Any trouble with the lock itself (the backend
 * failing) means computing without it: fail open, as every other cache operation does.
 */

/** @deprecated Import it from keys.ts. */
export { lockKey } from './keys.ts';

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

/** Options of {@link distributedFlight}. */
export interface DistributedFlightOptions<T> {
  /** Tries to take the lock once; resolves undefined while another process holds it. */
  acquire(): Promise<CacheLock | undefined>;
  /** Reads the stored value; `{ value }` when there is one (another process finished). */
  recheck(): Promise<{ value: T } | undefined>;
  /** Computes and stores the value (run by the lock holder, or by anyone once waiting is over). */
  compute(): Promise<T>;
  /** Milliseconds the lock lives; waiting never lasts longer than this (plus one pause). */
  ttlMs: number;
  /** First pause between polls in ms (default 2); each pause doubles up to `maxPollMs`. */
  pollMs?: number;
  /** Longest pause between polls in ms (default 25). */
  maxPollMs?: number;
  /** Time source for the waiting deadline. */
  clock?: Clock;
  /** Pauses for up to `ms` milliseconds (default a timer); the cache wakes it early when the key changes. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Computes a missed value once across processes: takes the lock and computes (re-reading first,
 * in case another process stored it between the miss and the lock), or waits for the value the
 * holder stores. A holder that stores nothing (an uncacheable result, an error) releases the
 * lock, and the next waiter to try computes its own.
 */
export async function distributedFlight<T>(options: DistributedFlightOptions<T>): Promise<T> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const maxPoll = options.maxPollMs ?? CACHE_DEFAULTS.lockPoll.maxPollMs;
  const deadline = clock.now() + options.ttlMs;
  let pause = options.pollMs ?? CACHE_DEFAULTS.lockPoll.pollMs;
  for (;;) {
    let lock: CacheLock | undefined;
    try {
      lock = await options.acquire();
    } catch {
      return options.compute();
    }
    if (lock) return holding(lock, options);
    if (clock.now() >= deadline) return options.compute();
    await sleep(pause);
    pause = Math.min(pause * 2, maxPoll);
    const stored = await options.recheck();
    if (stored) return stored.value;
  }
}

async function holding<T>(lock: CacheLock, options: DistributedFlightOptions<T>): Promise<T> {
  try {
    const stored = await options.recheck();
    return stored ? stored.value : await options.compute();
  } finally {
    // Sent without waiting for the reply: the value is stored already, and waiters of one that
    // was not go on as soon as it lands. A failed release only leaves the lock to expire.
    void lock.release().catch(() => false);
  }
}
