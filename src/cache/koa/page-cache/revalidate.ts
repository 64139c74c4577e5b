import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import type Koa from 'koa';
import type { Context } from 'koa';

/**
 * Background refresh for stale-while-revalidate.
 *
 * A middleware cannot run the rest of its chain twice for one request, and the reader must get
 * the stale page at once, so the refresh is a synthetic anonymous GET for the same URL sent
 * through the whole app (`app.callback()`), with no socket and nowhere to write. It carries a
 * ticket in a WeakMap keyed by its request object, which no real client can forge; the
 * `cacheView` that issued the ticket sees it, re-renders the page and stores it. The synthetic
 * request never starts a refresh of its own.
 */

/** What a refresh is for: the refresher that started it and the page key. */
export interface RefreshTicket {
  readonly owner: BackgroundRefresher;
  readonly key: string;
}

const tickets = new WeakMap<IncomingMessage, RefreshTicket>();
const handlers = new WeakMap<Koa, (req: IncomingMessage, res: ServerResponse) => Promise<void>>();

/**
 * Request headers never copied to the refresh: credentials (it must render the anonymous page),
 * conditionals and ranges (it must render the full page), and hop-by-hop or body headers.
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

/** The refresh ticket a request carries, if it is a synthetic refresh request. */
export function refreshTicketOf(ctx: Context): RefreshTicket | undefined {
  return tickets.get(ctx.req);
}

function handlerFor(app: Koa): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  let handler = handlers.get(app);
  if (!handler) {
    handler = app.callback();
    handlers.set(app, handler);
  }
  return handler;
}

function copyHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !DROPPED_HEADERS.has(name)) copy[name] = value;
  }
  return copy;
}

/**
 * Runs at most one background refresh per key at a time and tracks them, so tests and a
 * graceful shutdown can wait for them with {@link BackgroundRefresher.idle}.
 */
export class BackgroundRefresher {
  private readonly running = new Map<string, Promise<void>>();

  /** Starts a refresh of `key` by replaying `ctx`'s URL through the app, unless one is running. */
  start(ctx: Context, key: string): void {
    if (this.running.has(key)) return;
    const req = new IncomingMessage(new Socket());
    req.method = 'GET';
    req.url = ctx.originalUrl;
    req.headers = copyHeaders(ctx.req.headers);
    req.push(null);
    const res = new ServerResponse(req);
    tickets.set(req, { owner: this, key });
    const handler = handlerFor(ctx.app);
    const run = Promise.resolve()
      .then(() => handler(req, res))
      // Render errors are the app's to report (Koa's onerror); this only catches the machinery failing.
      .catch((error: unknown) => {
        ctx.app.emit('error', error);
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** Whether a refresh of `key` is running. */
  has(key: string): boolean {
    return this.running.has(key);
  }

  /** Resolves once no refresh is running (including ones started meanwhile). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled(Array.from(this.running.values()));
  }
}
