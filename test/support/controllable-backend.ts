import { MemoryBackend } from '../../src/cache/backends/memory.ts';
import type { BackendStats, CacheBackend, Seconds } from '../../src/cache/types.ts';

/**
 * How a {@link ControllableBackend} answers: normally, by rejecting (an outage), by never settling
 * (a hung connection, until `failHung()`), or by rejecting with a Redis-style reply error (a bad
 * command, which a circuit breaker must not count).
 */
export type BackendMode = 'ok' | 'fail' | 'hang' | 'reply-error';

/** Options of {@link ControllableBackend}. */
export interface ControllableBackendOptions {
  /** The backend that answers in `ok` mode (default: a new `MemoryBackend`). */
  inner?: CacheBackend;
  /** The name reported in events, stats and metrics (default `controllable`). */
  name?: string;
  /** The message of the error a failing call rejects with (default `backend unavailable`). */
  failure?: string;
  /**
   * Whether it offers `getMany` too (default false, so the cache's derived batch path is the one
   * that runs). It offers no other optional member, so the cache never reads it synchronously.
   */
  getMany?: boolean;
}

/**
 * A backend whose health a test switches, to exercise fail-open paths and circuit breakers
 * without a real outage. `calls` counts the calls that reached it, whatever the mode.
 */
export class ControllableBackend implements CacheBackend {
  readonly name: string;
  /** How the next calls answer. */
  mode: BackendMode = 'ok';
  /** While true, writes and deletes fail as in `fail` mode and reads still answer. */
  refuseWrites = false;
  /** Calls that reached this backend. */
  calls = 0;
  /** Values for many keys, present only with the `getMany` option. */
  readonly getMany?: (keys: readonly string[]) => Promise<(string | undefined)[]>;

  private readonly inner: CacheBackend;
  private readonly failure: string;
  private readonly hung: Array<(error: Error) => void> = [];

  constructor(options: ControllableBackendOptions = {}) {
    this.inner = options.inner ?? new MemoryBackend();
    this.name = options.name ?? 'controllable';
    this.failure = options.failure ?? 'backend unavailable';
    if (options.getMany) this.getMany = (keys) => this.call(false, () => this.readMany(keys));
  }

  /** Makes every call hanging so far reject now, as a command timeout would. */
  failHung(): void {
    for (const reject of this.hung.splice(0)) reject(new Error('timed out'));
  }

  get(key: string): Promise<string | undefined> {
    return this.call(false, () => this.inner.get(key));
  }
  has(key: string): Promise<boolean> {
    return this.call(false, () => this.inner.has(key));
  }
  set(key: string, value: string, ttl: Seconds): Promise<void> {
    return this.call(true, () => this.inner.set(key, value, ttl));
  }
  add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    return this.call(true, () => this.inner.add(key, value, ttl));
  }
  delete(key: string): Promise<boolean> {
    return this.call(true, () => this.inner.delete(key));
  }
  clear(): Promise<void> {
    return this.call(true, () => this.inner.clear());
  }
  stats(): Promise<BackendStats> {
    return this.call(false, async () => (this.inner.stats ? this.inner.stats() : {}));
  }
  /** Closes the inner backend; counted, and never refused. */
  async close(): Promise<void> {
    this.calls += 1;
    await this.inner.close?.();
  }

  private async call<T>(write: boolean, run: () => Promise<T>): Promise<T> {
    this.calls += 1;
    if (this.mode === 'fail' || (write && this.refuseWrites)) throw new Error(this.failure);
    if (this.mode === 'reply-error') throw Object.assign(new Error('WRONGTYPE'), { name: 'ReplyError' });
    if (this.mode === 'hang') return new Promise<T>((_, reject) => this.hung.push(reject));
    return run();
  }

  private readMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (this.inner.getMany) return this.inner.getMany(keys);
    return Promise.all(keys.map((key) => this.inner.get(key)));
  }
}
