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
