import type { BackendStats, CacheBackend, Seconds } from '../types.ts';

/**
 * A backend that stores nothing: every read misses, every write succeeds and is forgotten.
 * Used under `NODE_ENV=test` and to switch caching off without touching code.
 */
export class NullBackend implements CacheBackend {
  readonly name = 'null';

  /** Always a miss. */
  async get(_key: string): Promise<string | undefined> {
    return undefined;
  }
  /** Always a miss, known at once. */
  peekMany(keys: readonly string[]): undefined[] {
    return keys.map(() => undefined);
  }

  /** Nothing ever changes. */
  contentVersion(): number {
    return 0;
  }

  /** Forgets the value. */
  async set(_key: string, _value: string, _ttl: Seconds): Promise<void> {}

  /** Reports success, as the key was absent, and forgets the value. */
  async add(_key: string, _value: string, _ttl: Seconds): Promise<boolean> {
    return true;
  }

  /** Nothing existed. */
  async delete(_key: string): Promise<boolean> {
    return false;
  }

  /** Nothing exists. */
  async has(_key: string): Promise<boolean> {
    return false;
  }

  /** Nothing to remove. */
  async clear(): Promise<void> {}

  /** The counter starts from zero every time. */
  async incr(_key: string, delta: number): Promise<number> {
    return delta;
  }

  /** Always empty. */
  async stats(): Promise<BackendStats> {
    return { entries: 0, bytes: 0 };
  }
}
