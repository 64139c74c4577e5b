import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Socket } from 'node:net';
import Koa from 'koa';
import type { Context, Next } from 'koa';
import supertest from 'supertest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { cacheView, type CacheViewOptions } from '../../../src/cache/koa/page-cache/view.ts';
import type { CacheEvent } from '../../../src/cache/types.ts';
import { FlakyBackend } from '../helpers.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/** What a test handler gets: the context and the number of this render (1 for the first). */
export type PageHandler = (ctx: Context, render: number) => void | Promise<void>;

/** A handler that answers a small HTML page naming its render number and path. */
export const htmlPage: PageHandler = (ctx, render) => {
  ctx.type = 'html';
  ctx.body = `<p>render ${render} of ${ctx.path}</p>`;
};

/** A gate a handler can wait on until the test opens it. */
export class Gate {
  private release: () => void = () => {};
  readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  /** Lets every waiter through. */
  open(): void {
    this.release();
  }
}

/**
 * A real Koa app over HTTP with one cached route, `cacheView` with the handler as its `render`:
 * an outer middleware counts arrivals (and may rewrite responses, like the toolbar does), the
 * handler counts renders.
 */
export class PageApp {
  readonly clock: FakeClock;
  readonly backend: FlakyBackend;
  readonly logger = new MemoryLogger();
  readonly cache: Cache;
  readonly events: CacheEvent[] = [];
  readonly app = new Koa();
  readonly view: ReturnType<typeof cacheView>;
  renders = 0;
  arrivals = 0;
  /** Runs outside the page cache after it, e.g. to inject markup into the finished response. */
  outer: ((ctx: Context) => void) | undefined;
  private server: Server | undefined;

  /** `shared` makes this app a second process on the same store: same clock and backend, its own cache. */
  constructor(
    options: Omit<CacheViewOptions, 'cache' | 'clock'> = {},
    public handler: PageHandler = htmlPage,
    shared?: PageApp,
  ) {
    this.clock = shared?.clock ?? new FakeClock();
    this.backend = shared?.backend ?? new FlakyBackend(new MemoryBackend({ clock: this.clock }));
    this.cache = new Cache({ backend: this.backend, clock: this.clock, logger: this.logger });
    this.app.silent = true;
    this.cache.events.on('op', (event: CacheEvent) => this.events.push(event));
    // No clock option: page ages follow the cache's clock by default.
    const render = async (ctx: Context) => {
      this.renders += 1;
      await this.handler(ctx, this.renders);
    };
    this.view = cacheView({ cache: this.cache, timeout: 60, render, ...options });
    this.app.use(async (ctx: Context, next: Next) => {
      this.arrivals += 1;
      await next();
      ctx.set('X-Seen-Status', ctx.state.pageCache?.status ?? 'none');
      ctx.set('X-Seen-Reason', ctx.state.pageCache?.reason ?? 'none');
      this.outer?.(ctx);
    });
    this.app.use(this.view);
  }

  /** A supertest agent over one listening server (closed by {@link PageApp.close}). */
  http(): ReturnType<typeof supertest> {
    this.server ??= this.app.listen(0, '127.0.0.1');
    return supertest(this.server);
  }

  /** A Koa context for a GET of `url` that is never sent, to call helpers such as `makeCacheKey`. */
  contextFor(url: string, headers: Record<string, string> = {}): Context {
    const req = new IncomingMessage(new Socket());
    req.method = 'GET';
    req.url = url;
    req.headers = headers;
    return this.app.createContext(req, new ServerResponse(req));
  }

  /** Stops the server and waits for background refreshes. */
  async close(): Promise<void> {
    await this.view.idle();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
