import type { BackendStats, CacheBackend, Clock, Seconds } from '../../src/cache/types.ts';

/** A clock that only moves when a test advances it. */
export class FakeClock implements Clock {
  constructor(private current = 1_700_000_000_000) {}

  /** The fake time in milliseconds. */
  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A logger that remembers what it was told, for asserting on log lines. */
export class MemoryLogger {
  readonly warns: string[] = [];
  readonly infos: string[] = [];

  /** Records a warning. */
  warn(message: string): void {
    this.warns.push(message);
  }

  /** Records an informational line. */
  info(message: string): void {
    this.infos.push(message);
  }
}

/**
 * A backend that wraps another and can be switched to reject every call, to exercise
 * the cache's fail-open behaviour without a real outage.
 */
export class FlakyBackend implements CacheBackend {
  readonly name = 'flaky';
  failing = false;
  calls = 0;

  constructor(private readonly inner: CacheBackend) {}

  private async guard<T>(run: () => Promise<T>): Promise<T> {
    this.calls += 1;
    if (this.failing) throw new Error('backend unavailable');
    return run();
  }

  get(key: string): Promise<string | undefined> {
    return this.guard(() => this.inner.get(key));
  }
  set(key: string, value: string, ttl: Seconds): Promise<void> {
    return this.guard(() => this.inner.set(key, value, ttl));
  }
  add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    return this.guard(() => this.inner.add(key, value, ttl));
  }
  delete(key: string): Promise<boolean> {
    return this.guard(() => this.inner.delete(key));
  }
  has(key: string): Promise<boolean> {
    return this.guard(() => this.inner.has(key));
  }
  clear(): Promise<void> {
    return this.guard(() => this.inner.clear());
  }
  stats(): Promise<BackendStats> {
    return this.guard(async () => (this.inner.stats ? this.inner.stats() : {}));
  }
}

/** A unique prefix per call, so tests sharing a store (or a Redis server) never see each other. */
export function uniquePrefix(label: string): string {
  return `kiln-test:${label}:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}
