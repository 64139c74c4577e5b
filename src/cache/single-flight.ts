import { CACHE_DEFAULTS } from './defaults.ts';
import { systemClock, type CacheLock, type Clock } from './types.ts';

/**
 * Per-key request coalescing within one process: while a call for a key is running, other
 * calls for the same key wait for it and receive its result or its error. Nothing is kept once
 * the call settles, so an error is never remembered and the next call runs again.
 */
export class SingleFlight {
  private readonly running = new Map<string, Promise<unknown>>();

  /** Runs `fn` for `key` unless a call for `key` is already running, in which case joins it. */
  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing as Promise<T>;
    // `then(fn)` defers the call, so the promise is registered before `fn` can settle.
    const flight: Promise<T> = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.running.get(key) === flight) this.running.delete(key);
      });
    this.running.set(key, flight);
    return flight;
  }

  /** Whether a call for `key` is running. */
  has(key: string): boolean {
    return this.running.has(key);
  }

  /** How many keys have a call running. */
  get size(): number {
    return this.running.size;
  }
}

/**
 * Distributed single-flight: one computation of a cold key across every process sharing a
 * backend.
 *
 * The process that misses first takes a short lock (`DistributedLocks`; on Redis, distributed/redis/lock.ts) and computes; the others poll
 * for the value with a growing pause (cut short when the holder's write is announced, see
 * `ChangeNotifications`) and return it as soon as it is stored. A holder that crashes delays the
 * others by at most the lock's expiry, after which the next one to try takes the lock and
 * computes. Any trouble with the lock itself (the backend failing) means computing without it:
 * fail open, as every other cache operation does.
 */

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
