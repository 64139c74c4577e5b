import type { Context, Middleware } from 'koa';
import type { Cache } from '../../cache.ts';
import { systemClock, type Clock, type Seconds } from '../../types.ts';
import type { FreshnessWindows } from './decide.ts';

/** Options of `cacheView`, named after Flask-Caching's `cached`. */
export interface CacheViewOptions {
  /** The cache pages are stored in. */
  cache: Cache;
  /** Seconds a page stays fresh (default: the cache's default timeout; 0 = until invalidated). */
  timeout?: Seconds;
  /** Namespace of this route's keys (default `''`); the key is `viewKey(keyPrefix, path, query)`. */
  keyPrefix?: string;
  /** Builds the whole key instead (then the query is the function's business); excludes `keyPrefix`. */
  makeCacheKey?: (ctx: Context) => string;
  /** When it returns true the cache is skipped: no lookup, no store, `X-Cache: BYPASS` (default: never). */
  unless?: (ctx: Context) => boolean;
  /**
   * Which query parameters are part of the key (default false), canonicalised so parameter order
   * does not matter. The names of the parameters the route reads, e.g. `['page']`: any other
   * parameter is left out of the key, so junk queries share the one page they render and cannot
   * fill the store with copies. `true`: every parameter (each distinct query is a new entry).
   * `false`: a request that carries a query string bypasses the cache rather than being answered
   * with the page of another query.
   */
  queryString?: boolean | readonly string[];
  /** Called after rendering: the page is stored only when it returns true (default: always). */
  responseFilter?: (ctx: Context) => boolean;
  /** When it returns true the page is rendered and overwrites the stored one (default: never). */
  forcedUpdate?: (ctx: Context) => boolean;
  /** Tags of the stored page, from the request (called before rendering, so no invalidation is lost). */
  tags?: (ctx: Context) => readonly string[];
  /**
   * The route's handler, run by the page cache itself whenever the page must be rendered, so
   * the middleware is the route's whole answer: `router.get('/posts/:id', pages.view({ render:
   * showPost }))`. Without it the page cache renders by calling `next()`.
   */
  render?: Middleware;
  /**
   * Seconds after `timeout` a page is still served at once while one background render refreshes
   * it. The background render runs `render` alone, as an anonymous reader, so it needs `render`.
   */
  staleWhileRevalidate?: Seconds;
  /**
   * Told about a background render that failed with a server error (the stale page is kept);
   * default: the app's `error` event, as Koa reports errors.
   */
  onRevalidationError?: (error: unknown, ctx: Context) => void;
  /** Seconds after `timeout` a page is served when its new render throws or answers 5xx. */
  staleIfError?: Seconds;
  /** Time source for page ages (default: the cache's clock). */
  clock?: Clock;
}

/** Options checked once, with every default filled in. */
export interface CacheViewConfig {
  cache: Cache;
  keyPrefix: string;
  makeCacheKey: ((ctx: Context) => string) | undefined;
  unless: (ctx: Context) => boolean;
  queryString: boolean | readonly string[];
  responseFilter: (ctx: Context) => boolean;
  forcedUpdate: (ctx: Context) => boolean;
  tags: ((ctx: Context) => readonly string[]) | undefined;
  render: Middleware | undefined;
  onRevalidationError: (error: unknown, ctx: Context) => void;
  windows: FreshnessWindows;
  clock: Clock;
}

/** Checks `cacheView`'s options once, at start-up, throwing a TypeError that names the bad option. */
export function resolveOptions(options: CacheViewOptions): CacheViewConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('cacheView: options are required');
  const { cache } = options;
  if (!cache || typeof cache.getOrSet !== 'function') throw new TypeError('cacheView: `cache` must be a Cache');
  if (options.keyPrefix !== undefined && options.makeCacheKey !== undefined) {
    throw new TypeError('cacheView: pass `keyPrefix` or `makeCacheKey`, not both');
  }
  if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') {
    throw new TypeError('cacheView: `keyPrefix` must be a string');
  }
  for (const name of ['makeCacheKey', 'unless', 'responseFilter', 'forcedUpdate', 'tags', 'render', 'onRevalidationError'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`cacheView: \`${name}\` must be a function`);
    }
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new TypeError('cacheView: `clock` must have a now() method');
  }
  const windows: FreshnessWindows = {
    timeout: seconds(options.timeout ?? cache.defaultTimeout, 'timeout'),
    staleWhileRevalidate: seconds(options.staleWhileRevalidate ?? 0, 'staleWhileRevalidate'),
    staleIfError: seconds(options.staleIfError ?? 0, 'staleIfError'),
  };
  if (windows.timeout === 0 && (windows.staleWhileRevalidate > 0 || windows.staleIfError > 0)) {
    throw new TypeError('cacheView: staleWhileRevalidate and staleIfError need a timeout above 0');
  }
  if (windows.staleWhileRevalidate > 0 && options.render === undefined) {
    throw new TypeError("cacheView: staleWhileRevalidate needs `render`, the route's handler, to render pages again in the background");
  }
  return {
    cache,
    keyPrefix: options.keyPrefix ?? '',
    makeCacheKey: options.makeCacheKey,
    unless: options.unless ?? (() => false),
    queryString: queryParams(options.queryString),
    responseFilter: options.responseFilter ?? (() => true),
    forcedUpdate: options.forcedUpdate ?? (() => false),
    tags: options.tags,
    render: options.render,
    onRevalidationError: options.onRevalidationError ?? ((error, ctx) => ctx.app.emit('error', error, ctx)),
    windows,
    clock: options.clock ?? cache.clock ?? systemClock,
  };
}

/** `queryString` checked: a boolean, or a frozen list of distinct non-empty parameter names. */
function queryParams(value: unknown): boolean | readonly string[] {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string' && name !== '')) {
    throw new TypeError('cacheView: `queryString` must be a boolean or an array of parameter names');
  }
  return Object.freeze([...new Set<string>(value)]);
}

function seconds(value: unknown, name: string): Seconds {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`cacheView: \`${name}\` must be a non-negative number of seconds, got ${String(value)}`);
  }
  return value;
}
