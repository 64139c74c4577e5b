import { memoKey, memoVersionTag } from './keys.ts';
import type { GetOptions, GetOrSetOptions, Seconds } from './types.ts';

/**
 * Function caching, as Flask-Caching's `memoize` and `cached`.
 *
 * A memoized call's key is `memoKey(name, version, args)`: the function's name, its current
 * version and its arguments in stable form (see `stableStringify`). The version is a tag
 * version (the tag `memoVersionTag(name)`, see keys.ts and tags.ts) kept in the backend, so `deleteMemoized(fn)`
 * replaces it in O(1) and every older entry becomes unreachable, in every process.
 */

/** What memoization needs of a cache; `Cache` is one. */
export interface MemoStore {
  getOrSet<T>(key: string, compute: () => T | Promise<T>, opts?: GetOrSetOptions<T>): Promise<T>;
  /** The current version of a tag, created if absent; undefined when the backend failed. */
  tagVersion(tag: string, opts?: GetOptions): Promise<string | undefined>;
  invalidateTags(tags: readonly string[], opts?: GetOptions): Promise<boolean>;
  delete(key: string, opts?: GetOptions): Promise<boolean>;
}

/** Options of {@link memoize}; the Flask-Caching switches receive the call's arguments. */
export interface MemoizeOptions<A extends unknown[], R> {
  /** Seconds to keep a result (the cache's default when omitted; 0 = no expiry). */
  timeout?: Seconds;
  /** The name in the key (default `fn.name`); required for anonymous functions, unique per cache. */
  name?: string;
  /** When it returns true the call bypasses the cache. */
  unless?: (...args: A) => boolean;
  /** When it returns true the result is recomputed and overwrites the entry. */
  forcedUpdate?: (...args: A) => boolean;
  /** A result filter: a result is stored only when it returns true. */
  shouldCache?: (value: R) => boolean;
  /** Whether a `null` result is stored (default true). */
  cacheNull?: boolean;
  /** When set, a `null`/`undefined` result is stored as "not found" for this many seconds. */
  negativeTimeout?: Seconds;
  /** Tags of each stored result, fixed or computed from the arguments. */
  tags?: readonly string[] | ((...args: A) => readonly string[]);
}

/** A memoized function: always async, with the original and its key builder attached. */
export type MemoizedFunction<A extends unknown[], R> = ((...args: A) => Promise<Awaited<R>>) & {
  /** The original function, uncached. */
  readonly uncached: (...args: A) => R;
  /** The key a call with these arguments uses now; undefined when the backend cannot be read. */
  makeCacheKey(...args: A): Promise<string | undefined>;
  /** The name used in keys. */
  readonly cacheName: string;
};

/** Options of {@link cached}: a fixed key plus the getOrSet switches. */
export interface CachedOptions<R> extends GetOrSetOptions<R> {
  /** The key the result is stored under; `cache.delete(key)` invalidates it. */
  key: string;
}

/** An argument-less cached function, with the original and its key attached. */
export type CachedFunction<R> = (() => Promise<Awaited<R>>) & {
  readonly uncached: () => R;
  makeCacheKey(): string;
};

const names = new WeakMap<MemoStore, Map<string, string>>();
const registry = new WeakMap<object, string>();

function claimName(cache: MemoStore, name: string, fn: object): void {
  const claimed = names.get(cache) ?? new Map<string, string>();
  names.set(cache, claimed);
  const source = fn.toString();
  const previous = claimed.get(name);
  // The same source may be memoized again (a closure re-created); a different one would share keys.
  if (previous !== undefined && previous !== source) {
    throw new Error(`memoize: the name ${JSON.stringify(name)} is already used by another function; pass a unique { name }`);
  }
  claimed.set(name, source);
}

function nameOf(fn: (...args: never[]) => unknown): string {
  const name = registry.get(fn) ?? fn.name;
  if (!name) throw new TypeError('memoize: the function has no name; pass { name }');
  return name;
}

/** Wraps `fn` so each distinct argument list is computed once per timeout, single-flight. */
export function memoize<A extends unknown[], R>(
  cache: MemoStore,
  fn: (...args: A) => R,
  opts: MemoizeOptions<A, Awaited<R>> = {},
): MemoizedFunction<A, R> {
  const name = opts.name ?? fn.name;
  if (!name) throw new TypeError('memoize: the function has no name; pass { name }');
  claimName(cache, name, fn);
  const events = { origin: 'memoize', detail: name } as const;
  const versionTag = memoVersionTag(name);

  const makeCacheKey = async (...args: A): Promise<string | undefined> => {
    const version = await cache.tagVersion(versionTag, events);
    return version === undefined ? undefined : memoKey(name, version, args);
  };

  const call = async (...args: A): Promise<Awaited<R>> => {
    if (opts.unless?.(...args)) return await fn(...args);
    const key = await makeCacheKey(...args);
    if (key === undefined) return await fn(...args);
    const { forcedUpdate, tags } = opts;
    return cache.getOrSet<Awaited<R>>(key, async (): Promise<Awaited<R>> => await fn(...args), {
      ...events,
      timeout: opts.timeout,
      shouldCache: opts.shouldCache,
      cacheNull: opts.cacheNull,
      negativeTimeout: opts.negativeTimeout,
      forcedUpdate: forcedUpdate && (() => forcedUpdate(...args)),
      tags: typeof tags === 'function' ? tags(...args) : tags,
    });
  };

  const wrapper = Object.assign(call, { uncached: fn, makeCacheKey, cacheName: name });
  registry.set(wrapper, name);
  registry.set(fn, name);
  return wrapper;
}

/**
 * Without arguments, drops every cached result of a memoized function in O(1) (its version
 * changes); with arguments, deletes the result for exactly those arguments. Accepts the
 * memoized wrapper or the original function. Resolves false when the backend failed.
 */
export async function deleteMemoized<A extends unknown[]>(
  cache: MemoStore,
  fn: (...args: A) => unknown,
  ...args: A | []
): Promise<boolean> {
  const name = nameOf(fn);
  const events = { origin: 'memoize', detail: name } as const;
  if (args.length === 0) return cache.invalidateTags([memoVersionTag(name)], events);
  const version = await cache.tagVersion(memoVersionTag(name), events);
  if (version === undefined) return false;
  return cache.delete(memoKey(name, version, args), events);
}

/** Wraps an argument-less function so its result is cached under `opts.key`, single-flight. */
export function cached<R>(cache: MemoStore, fn: () => R, opts: CachedOptions<Awaited<R>>): CachedFunction<R> {
  const { key, ...rest } = opts;
  if (!key) throw new TypeError('cached: a non-empty { key } is required');
  const call = async (): Promise<Awaited<R>> =>
    cache.getOrSet<Awaited<R>>(key, async (): Promise<Awaited<R>> => await fn(), { detail: key, ...rest });
  return Object.assign(call, { uncached: fn, makeCacheKey: () => key });
}
