import { AsyncLocalStorage } from 'node:async_hooks';
import { createHmac, randomBytes } from 'node:crypto';
import type { Cache } from '../cache.ts';
import type { PageCacheReason, PageCacheStatus } from '../koa/page-cache/decide.ts';
import { now } from '../telemetry.ts';
import { systemClock, type CacheEvent, type Clock } from '../types.ts';
import type { HeaderPair } from './mask.ts';
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
  /**
   * A keyed digest of the parameter values (HMAC under a key made at start, so values cannot be
   * guessed back): equal for equal values, which tells identical queries from similar ones.
   */
  paramsDigest?: string;
  error?: string;
}

/** One line the application logged while handling a request. */
export interface CollectedLog {
  level: string;
  msg: string;
  /** Milliseconds from the start of the request. */
  atMs: number;
}

/** What a query sink is told (see src/blog/web/sql-logger.ts): `values` are digested, never kept. */
export interface QueryReport extends Omit<CollectedQuery, 'atMs' | 'paramsDigest'> {
  values?: readonly unknown[];
}

/** Key of the parameter digests, new in every process. */
const DIGEST_KEY = randomBytes(32);

function paramsDigest(values: readonly unknown[] | undefined): string | undefined {
  if (values === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(values, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
  } catch {
    return undefined;
  }
  return createHmac('sha256', DIGEST_KEY).update(text).digest('base64url').slice(0, 16);
}

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
  /** `request` for a page or API request; `action` for something done from the bar (clear cache, drop a key). */
  kind: 'request' | 'action';
  /** What the page cache did, when the route is cached. */
  pageCache?: PageCacheStatus;
  /** Why it did that (see `PageCacheReason`). */
  pageCacheReason?: PageCacheReason;
  timings: RequestTimings;
  cache: CollectedCacheOp[];
  queries: CollectedQuery[];
  /** Templates loaded for rendering, in order (includes and parents too), repeats kept. */
  templates: string[];
  /** Log lines the application wrote during the request (see logger.ts). */
  logs: CollectedLog[];
  /** The request's and the response's headers, secrets masked (mask.ts). */
  headers: { request: HeaderPair[]; response: HeaderPair[] };
  /** Bytes of the response body before the bar went in (for a page served from the cache: the page's size). */
  responseBytes?: number;
  /** Items not kept because a list reached its bound (they still count in the timings). */
  dropped: { cache: number; queries: number; templates: number; logs: number };
  /** False while the request is still running. */
  finished: boolean;
}

/** What the middleware knows once the rest of the chain has run. */
export interface RequestOutcome {
  status: number;
  /** Headers of the request and of the response, already masked. */
  headers?: { request: HeaderPair[]; response: HeaderPair[] };
  responseBytes?: number;
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

/** What {@link RequestCollector.run} is told of a request; `kind` defaults to `request`. */
export interface NewRecord {
  method: string;
  url: string;
  browser?: string;
  /** The id the access log and `X-Request-Id` carry. */
  requestId?: string;
  kind?: RequestRecord['kind'];
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
  run<T>(request: NewRecord, fn: (record: RequestRecord) => Promise<T>): Promise<T> {
    const record = this.newRecord(request);
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
    const { values, ...kept } = query;
    const sql = query.sql.length > this.maxSqlLength ? `${query.sql.slice(0, this.maxSqlLength)}…` : query.sql;
    const digest = paramsDigest(values);
    record.queries.push({ ...kept, sql, atMs: now() - scope.start, ...(digest === undefined ? {} : { paramsDigest: digest }) });
  }

  /** Notes a line the application logged in the current request. */
  recordLog(level: string, msg: string): void {
    const scope = this.scopes.getStore();
    if (!scope) return;
    if (scope.record.logs.length >= this.maxItems) {
      scope.record.dropped.logs += 1;
      return;
    }
    scope.record.logs.push({ level, msg: msg.length > this.maxSqlLength ? `${msg.slice(0, this.maxSqlLength)}…` : msg, atMs: now() - scope.start });
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
    if (outcome.headers !== undefined) record.headers = outcome.headers;
    if (outcome.responseBytes !== undefined) record.responseBytes = outcome.responseBytes;
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

  private newRecord(request: NewRecord): RequestRecord {
    const record: RequestRecord = {
      id: randomBytes(12).toString('base64url'),
      kind: request.kind ?? 'request',
      requestId: request.requestId,
      method: request.method,
      url: request.url,
      startedAt: this.clock.now(),
      timings: { totalMs: 0, renderMs: 0, dbMs: 0, cacheMs: 0 },
      cache: [],
      queries: [],
      templates: [],
      logs: [],
      headers: { request: [], response: [] },
      dropped: { cache: 0, queries: 0, templates: 0, logs: 0 },
      finished: false,
    };
    if (request.browser !== undefined) this.owners.set(record, request.browser);
    this.remember(record);
    return record;
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
