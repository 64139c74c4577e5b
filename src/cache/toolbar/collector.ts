import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Cache } from '../cache.ts';
import type { PageCacheReason, PageCacheStatus } from '../koa/page-cache/decide.ts';
import { now } from '../telemetry.ts';
import { systemClock, type CacheEvent, type Clock } from '../types.ts';
import { readableKey } from './readable-key.ts';

/** One cache operation seen during a request, in the order it finished. */
export interface CollectedCacheOp extends CacheEvent {
  /** Milliseconds from the start of the request to the end of the operation. */
  atMs: number;
  /** The key as people read it (see readable-key.ts). */
  readableKey: string;
}

/** One SQL query run during a request. */
export interface CollectedQuery {
  sql: string;
  /** How many parameters were bound; their values are never kept (they can hold session ids). */
  parameters: number;
  /** Milliseconds from TypeORM handing the query over until its result came back. */
  durationMs: number;
  /** Milliseconds from the start of the request to the end of the query. */
  atMs: number;
  error?: string;
}

/** What a query sink is told (see src/blog/web/sql-logger.ts). */
export type QueryReport = Omit<CollectedQuery, 'atMs'>;

/** Where the time of a request went, in milliseconds. */
export interface RequestTimings {
  /** From the start of the toolbar's scope to the end of the answer (an early answer or the chain). */
  totalMs: number;
  /** Rendering templates (including the cache and SQL work done from inside templates). */
  renderMs: number;
  /** Sum of the SQL queries' durations. */
  dbMs: number;
  /** Sum of the cache operations' durations. */
  cacheMs: number;
}

/** Everything collected about one request: what the toolbar shows and `GET /_toolbar/:id` returns (to its own browser). */
export interface RequestRecord {
  /** Random id, put on the bar as `data-request-id`. */
  readonly id: string;
  /** The id the response carries as `X-Request-Id` (and the access log writes), when the app gives ids. */
  readonly requestId?: string;
  method: string;
  url: string;
  /** Wall-clock start in milliseconds since the epoch. */
  startedAt: number;
  /** The matched route pattern (e.g. `/posts/:id`), when one matched. */
  route?: string;
  status?: number;
  /** What the page cache did, when the route is cached. */
  pageCache?: PageCacheStatus;
  /** Why it did that (see `PageCacheReason`). */
  pageCacheReason?: PageCacheReason;
  timings: RequestTimings;
  cache: CollectedCacheOp[];
  queries: CollectedQuery[];
  /** Templates loaded for rendering, in order (includes and parents too), repeats kept. */
  templates: string[];
  /** Items not kept because a list reached its bound (they still count in the timings). */
  dropped: { cache: number; queries: number; templates: number };
  /** False while the request is still running. */
  finished: boolean;
}

/** What the middleware knows once the rest of the chain has run. */
export interface RequestOutcome {
  status: number;
  route?: string;
  pageCache?: PageCacheStatus;
  pageCacheReason?: PageCacheReason;
}

/** Bounds of a {@link RequestCollector}. */
export interface CollectorOptions {
  /** Requests remembered, oldest forgotten first (default 100). */
  maxRequests?: number;
  /** Most cache operations, queries or templates kept per request (default 1000 each). */
  maxItems?: number;
  /** Longest SQL text kept, in characters (default 4000). */
  maxSqlLength?: number;
  /** Wall clock for `startedAt`. */
  clock?: Clock;
}

interface Scope {
  record: RequestRecord;
  start: number;
  renderDepth: number;
}

/**
 * Collects, per request, every cache operation, SQL query and template with their timings, using
 * AsyncLocalStorage so code deep in a request needs no context passed in. Keeps the last
 * `maxRequests` records in memory, keyed by a random id, each read back only by the browser it
 * came from. Work outside a request scope (start-up, background refreshes of other requests) is
 * ignored.
 *
 * @example
 * const collector = new RequestCollector();
 * collector.watch(cache);
 * await collector.run({ method: 'GET', url: '/', browser }, async (record) => { await handle(); collector.finish(record, { status: 200 }); });
 */
export class RequestCollector {
  private readonly scopes = new AsyncLocalStorage<Scope>();
  private readonly records = new Map<string, RequestRecord>();
  /** The browser each record belongs to (kept out of the record, which is served as JSON). */
  private readonly owners = new WeakMap<RequestRecord, string>();
  private readonly maxRequests: number;
  private readonly maxItems: number;
  private readonly maxSqlLength: number;
  private readonly clock: Clock;

  constructor(options: CollectorOptions = {}) {
    this.maxRequests = positive(options.maxRequests ?? 100, 'maxRequests');
    this.maxItems = positive(options.maxItems ?? 1000, 'maxItems');
    this.maxSqlLength = positive(options.maxSqlLength ?? 4000, 'maxSqlLength');
    this.clock = options.clock ?? systemClock;
  }

  /** Listens to `cache`'s event stream; returns a function that stops listening. */
  watch(cache: Pick<Cache, 'events'>): () => void {
    const listener = (event: CacheEvent) => this.recordCacheEvent(event);
    cache.events.on('op', listener);
    return () => void cache.events.off('op', listener);
  }

  /**
   * Runs `fn` inside a new request scope whose record is remembered at once, as a request of
   * `browser` (see browser.ts); a record without one is shown to no browser.
   */
  run<T>(request: { method: string; url: string; browser?: string; requestId?: string }, fn: (record: RequestRecord) => Promise<T>): Promise<T> {
    const record: RequestRecord = {
      id: randomBytes(12).toString('base64url'),
      requestId: request.requestId,
      method: request.method,
      url: request.url,
      startedAt: this.clock.now(),
      timings: { totalMs: 0, renderMs: 0, dbMs: 0, cacheMs: 0 },
      cache: [],
      queries: [],
      templates: [],
      dropped: { cache: 0, queries: 0, templates: 0 },
      finished: false,
    };
    if (request.browser !== undefined) this.owners.set(record, request.browser);
    this.remember(record);
    return this.scopes.run({ record, start: now(), renderDepth: 0 }, () => fn(record));
  }

  /**
   * Runs `fn` outside any request scope, so its work is not put on the request that started it
   * (e.g. a stale-while-revalidate refresh that the page cache sends through the app).
   */
  outside<T>(fn: () => T): T {
    return this.scopes.exit(fn);
  }

  /** The record of the request running in the current async context, if any. */
  current(): RequestRecord | undefined {
    return this.scopes.getStore()?.record;
  }

  /** Notes a cache operation in the current request. */
  recordCacheEvent(event: CacheEvent): void {
    const scope = this.scopes.getStore();
    if (!scope) return;
    const { record } = scope;
    record.timings.cacheMs += event.durationMs;
    if (record.cache.length >= this.maxItems) {
      record.dropped.cache += 1;
      return;
    }
    record.cache.push({ ...event, atMs: now() - scope.start, readableKey: readableKey(event.key) });
  }

  /** Notes a finished SQL query in the current request. */
  recordQuery(query: QueryReport): void {
    const scope = this.scopes.getStore();
    if (!scope) return;
    const { record } = scope;
    record.timings.dbMs += query.durationMs;
    if (record.queries.length >= this.maxItems) {
      record.dropped.queries += 1;
      return;
    }
    const sql = query.sql.length > this.maxSqlLength ? `${query.sql.slice(0, this.maxSqlLength)}…` : query.sql;
    record.queries.push({ ...query, sql, atMs: now() - scope.start });
  }

  /** Notes that a template was loaded for rendering in the current request. */
  recordTemplate(name: string): void {
    const scope = this.scopes.getStore();
    if (!scope) return;
    if (scope.record.templates.length >= this.maxItems) {
      scope.record.dropped.templates += 1;
      return;
    }
    scope.record.templates.push(name);
  }

  /** Runs a render and adds its time to the request's render time (nested renders count once). */
  async measureRender<T>(render: () => Promise<T>): Promise<T> {
    const scope = this.scopes.getStore();
    if (!scope) return render();
    const start = now();
    scope.renderDepth += 1;
    try {
      return await render();
    } finally {
      scope.renderDepth -= 1;
      if (scope.renderDepth === 0) scope.record.timings.renderMs += now() - start;
    }
  }

  /** Completes the current request's record with its outcome and total time. */
  finish(record: RequestRecord, outcome: RequestOutcome): void {
    const scope = this.scopes.getStore();
    if (scope && scope.record === record) record.timings.totalMs = now() - scope.start;
    record.status = outcome.status;
    if (outcome.route !== undefined) record.route = outcome.route;
    if (outcome.pageCache !== undefined) record.pageCache = outcome.pageCache;
    if (outcome.pageCacheReason !== undefined) record.pageCacheReason = outcome.pageCacheReason;
    record.finished = true;
  }

  /** The record with this id, while it is remembered, if it is a request of `browser`. */
  get(id: string, browser: string): RequestRecord | undefined {
    const record = this.records.get(id);
    return record !== undefined && this.owners.get(record) === browser ? record : undefined;
  }

  /** The remembered records of `browser`, newest first. */
  recent(browser: string): RequestRecord[] {
    return [...this.records.values()].filter((record) => this.owners.get(record) === browser).reverse();
  }

  /** How many records are remembered, of every browser. */
  get size(): number {
    return this.records.size;
  }

  private remember(record: RequestRecord): void {
    this.records.set(record.id, record);
    while (this.records.size > this.maxRequests) {
      const oldest = this.records.keys().next();
      if (oldest.done) break;
      this.records.delete(oldest.value);
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`RequestCollector: ${name} must be a positive integer, got ${value}`);
  return value;
}
