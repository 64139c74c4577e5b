import { AsyncResource } from 'node:async_hooks';
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Context } from 'koa';

/**
 * Background renders for stale-while-revalidate. The reader gets the stale page at once; the
 * page is then rendered again, once per key at a time, by running only the route's handler
 * (`render`) on an anonymous copy of the reader's context ({@link anonymousContextFor}). Nothing
 * goes through the app again (no session, CSRF, toolbar, metrics or router), and nothing is sent.
 */

/**
 * Request headers a background render never sees: credentials (it must render the anonymous
 * page), conditionals and ranges (it must render the full page), and hop-by-hop or body headers.
 */
const DROPPED_HEADERS = new Set([
  'cookie',
  'authorization',
  'proxy-authorization',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  'content-type',
]);

function withoutDropped(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_HEADERS.has(name)) kept[name] = value;
  }
  return kept;
}

/** The three forms Node gives request headers in (parsed, one array per name, raw name/value list), built from `headers`. */
function headerForms(headers: IncomingHttpHeaders): PropertyDescriptorMap {
  const distinct: Record<string, string[]> = {};
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
    distinct[name] = values;
    for (const one of values) raw.push(name, one);
  }
  return {
    headers: { value: headers },
    headersDistinct: { value: distinct },
    rawHeaders: { value: raw },
    trailers: { value: {} },
    trailersDistinct: { value: {} },
    rawTrailers: { value: [] },
  };
}

/**
 * A Koa context that renders `ctx`'s page again as an anonymous reader would: the same app, URL,
 * host, client and route params; no cookies, credentials, conditionals or ranges; an empty
 * `state`; a response that is never sent.
 *
 * Its request is a view of the reader's: an object whose prototype is `ctx.req`, with every form
 * of the headers (`headers`, `headersDistinct`, `rawHeaders`, trailers) replaced by a copy
 * without {@link DROPPED_HEADERS}. That is safe because a page render only reads the request
 * line, headers and connection facts, all of which the view answers, and never the reader's body
 * or events: the reader's request was a GET, and its body (none) was consumed with it.
 */
export function anonymousContextFor(ctx: Context): Context {
  const view: IncomingMessage = Object.create(ctx.req, headerForms(withoutDropped(ctx.req.headers)));
  const anonymous = ctx.app.createContext(view, new ServerResponse(view));
  const params: unknown = Reflect.get(ctx, 'params');
  if (params !== null && typeof params === 'object') Reflect.set(anonymous, 'params', { ...params });
  return anonymous;
}

/**
 * Runs at most one background render per key at a time and tracks them, so tests and a graceful
 * shutdown can wait for them with {@link BackgroundRevalidation.idle}. Each run starts in an
 * async scope made with this object (at start-up), not in the scope of the request that asked for
 * it, so no request's AsyncLocalStorage (the dev toolbar's record) sees its work.
 */
export class BackgroundRevalidation {
  private readonly running = new Map<string, Promise<void>>();
  private readonly detached = new AsyncResource('kiln.page-revalidation');

  /** Starts `run` for `key`, unless a run for `key` is going; `run` reports its own failures. */
  start(key: string, run: () => Promise<void>): void {
    if (this.running.has(key)) return;
    const task = this.detached
      .runInAsyncScope(() => Promise.resolve().then(run))
      .catch(() => {})
      .finally(() => this.running.delete(key));
    this.running.set(key, task);
  }

  /** Whether a run for `key` is going. */
  has(key: string): boolean {
    return this.running.has(key);
  }

  /** Resolves once no run is going (including ones started meanwhile). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled(Array.from(this.running.values()));
  }
}
