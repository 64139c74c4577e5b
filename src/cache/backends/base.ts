import type { CacheBackend, Clock, Seconds } from '../types.ts';

/**
 * Batch operations derived from a backend's primitives, so a new backend is a handful of
 * methods: extend {@link BaseBackend}, or let the cache call these helpers for any plain object
 * implementing {@link CacheBackend}.
 */

/** Values for many keys through `get`, in order. */
export function getManyVia(backend: CacheBackend, keys: readonly string[]): Promise<(string | undefined)[]> {
  return Promise.all(keys.map((key) => backend.get(key)));
}

/** Stores many entries through `set`. */
export async function setManyVia(
  backend: CacheBackend,
  entries: ReadonlyArray<readonly [string, string]>,
  ttl: Seconds,
): Promise<void> {
  await Promise.all(entries.map(([key, value]) => backend.set(key, value, ttl)));
}

/** Removes many keys through `delete`; resolves how many existed. */
export async function deleteManyVia(backend: CacheBackend, keys: readonly string[]): Promise<number> {
  const removed = await Promise.all(keys.map((key) => backend.delete(key)));
  return removed.filter(Boolean).length;
}

/**
 * Adds `delta` to a counter through `get` and `set`: not atomic across processes, and the
 * result is stored with no expiry (the previous timeout is unknown to a plain backend).
 */
export async function incrVia(backend: CacheBackend, key: string, delta: number): Promise<number> {
  const next = parseCounter(await backend.get(key), key) + delta;
  await backend.set(key, String(next), 0);
  return next;
}

const INTEGER = /^-?\d+$/;

/** The integer held by a counter's stored string (absent counts as 0); rejects anything else. */
export function parseCounter(raw: string | undefined, key: string): number {
  if (raw === undefined) return 0;
  if (!INTEGER.test(raw)) throw new TypeError(`value at ${JSON.stringify(key)} is not an integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new RangeError(`value at ${JSON.stringify(key)} is out of range`);
  return value;
}

/** Checks a counter's delta: a safe integer. */
export function checkDelta(delta: number): void {
  if (!Number.isSafeInteger(delta)) throw new TypeError(`incr delta must be a safe integer, got ${delta}`);
}

/** The absolute expiry time in milliseconds for a timeout in seconds; 0 = never. */
export function expiryOf(clock: Clock, ttl: Seconds): number {
  return ttl > 0 ? clock.now() + Math.max(1, Math.round(ttl * 1000)) : 0;
}

/** Whether an absolute expiry time (0 = never) has passed. */
export function isExpired(clock: Clock, expiresAt: number): boolean {
  return expiresAt !== 0 && clock.now() >= expiresAt;
}

/** The earlier of two absolute expiry times, where 0 is never. */
export function earliest(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/** A base class that supplies the batch members from the primitives. */
export abstract class BaseBackend implements CacheBackend {
  abstract readonly name: string;
  abstract get(key: string): Promise<string | undefined>;
  abstract set(key: string, value: string, ttl: Seconds): Promise<void>;
  abstract add(key: string, value: string, ttl: Seconds): Promise<boolean>;
  abstract delete(key: string): Promise<boolean>;
  abstract has(key: string): Promise<boolean>;
  abstract clear(): Promise<void>;

  /** Values for many keys, in order. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return getManyVia(this, keys);
  }

  /** Stores many entries with one timeout. */
  setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    return setManyVia(this, entries, ttl);
  }

  /** Removes many keys; resolves how many existed. */
  deleteMany(keys: readonly string[]): Promise<number> {
    return deleteManyVia(this, keys);
  }
}
