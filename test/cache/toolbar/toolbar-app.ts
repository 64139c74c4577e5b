import { once } from 'node:events';
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { Context, Next } from 'koa';
import supertest from 'supertest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { cacheView } from '../../../src/cache/koa/page-cache/view.ts';
import { useRequestFrame } from '../../../src/cache/koa/request-frame.ts';
import { LOCAL_HOST_NAMES, type ToolbarConfig } from '../../../src/cache/toolbar/access.ts';
import type { ToolbarAssetUrl } from '../../../src/cache/toolbar/inspector.ts';
import { createToolbar, type Toolbar } from '../../../src/cache/toolbar/toolbar.ts';
import type { Seconds } from '../../../src/cache/types.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

/** A memory backend that remembers every value written to it, whatever the page cache's format. */
export class RecordingBackend extends MemoryBackend {
  readonly written: string[] = [];

  override async set(key: string, value: string, ttl: Seconds): Promise<void> {
    this.written.push(value);
    return super.set(key, value, ttl);
  }

  override async add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    this.written.push(value);
    return super.add(key, value, ttl);
  }

  override async setMany(entries: ReadonlyArray<readonly [string, string]>, ttl: Seconds): Promise<void> {
    for (const [, value] of entries) this.written.push(value);
    return super.setMany(entries, ttl);
  }
}

/** The toolbar's secret in these tests. */
export const SECRET = 'toolbar-test-secret-0123456789';

/** The configured site URL: its host name and the loopback names are the toolbar's hosts. */
export const SITE = 'http://kiln.test';

/** An HTML page as the blog renders them. */
export function page(title: string): string {
  return `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`;
}

/** Options of {@link ToolbarApp.start}. */
export interface ToolbarAppOptions {
  /** Whether Koa trusts forwarding headers. */
  proxy?: boolean;
  /** The toolbar's URL-maker for its files (default its plain URLs). */
  assetUrl?: ToolbarAssetUrl;
}

/**
 * A small real Koa app over HTTP laid out like Kiln: the request frame with the toolbar's
 * inspector outermost, an error handler rendering HTML error pages, the toolbar's routes, a
 * stand-in for the static files, then routes of every response type, some behind `cacheView`.
 */
export class ToolbarApp {
  readonly clock = new FakeClock();
  readonly backend = new RecordingBackend({ clock: this.clock });
  readonly cache = new Cache({ backend: this.backend, clock: this.clock, logger: new MemoryLogger() });
  readonly app = new Koa();
  readonly toolbar: Toolbar;
  /** The page cache of `/swr`, which serves stale pages while one background render refreshes them. */
  readonly swr: ReturnType<typeof cacheView>;
  renders = 0;
  /** The body objects the page cache handed out, seen just inside the toolbar. */
  readonly innerBodies: unknown[] = [];
  private server: Server | undefined;
  private developer: supertest.Agent | undefined;

  /** Builds the app and waits until it listens on a free port of 127.0.0.1. */
  static async start(config: ToolbarConfig, options: ToolbarAppOptions = {}): Promise<ToolbarApp> {
    const app = new ToolbarApp(config, options);
    app.server = app.app.listen(0, '127.0.0.1');
    await once(app.server, 'listening');
    return app;
  }

  private constructor(config: ToolbarConfig, options: ToolbarAppOptions) {
    this.app.silent = true;
    this.app.proxy = options.proxy ?? false;
    this.toolbar = createToolbar({
      config,
      cache: this.cache,
      secret: SECRET,
      hosts: [new URL(SITE).hostname, ...LOCAL_HOST_NAMES],
      clock: this.clock,
      assetUrl: options.assetUrl,
    });
    const view = cacheView({ cache: this.cache, clock: this.clock, timeout: 60 });
    const router = new Router();
    this.swr = cacheView({
      cache: this.cache,
      clock: this.clock,
      timeout: 60,
      staleWhileRevalidate: 600,
      render: (ctx) => html(ctx, page(`swr ${this.renders + 1}`)),
    });
    router.get('/swr', this.swr);
    const html = (ctx: Context, body: string | Buffer) => {
      this.renders += 1;
      ctx.type = 'html';
      ctx.body = body;
    };
    router.get('/page', view, (ctx) => html(ctx, page(`render ${this.renders + 1}`)));
    router.get('/buffer', view, (ctx) => html(ctx, Buffer.from(page('buffer ünïcode'))));
    router.get('/posts/:id', view, (ctx) => html(ctx, page(`post ${ctx.params.id}`)));
    router.get('/nobody', (ctx) => html(ctx, '<p>a fragment without a body end</p>'));
    router.get('/latin1', (ctx) => {
      ctx.set('Content-Type', 'text/html; charset=iso-8859-1');
      ctx.body = Buffer.from(page('latin'), 'latin1');
    });
    router.get('/json', view, (ctx) => {
      ctx.body = { html: page('inside json') };
    });
    router.get('/feed.xml', view, (ctx) => {
      ctx.type = 'application/atom+xml';
      ctx.body = `<feed><title>${page('feed')}</title></feed>`;
    });
    router.get('/text', (ctx) => {
      ctx.type = 'text';
      ctx.body = page('plain text');
    });
    router.get('/stream', (ctx) => {
      ctx.type = 'html';
      ctx.body = Readable.from([page('streamed')]);
    });
    router.get('/redirect', (ctx) => ctx.redirect('/page'));
    useRequestFrame(this.app, { headers: {}, inspector: this.toolbar.inspector });
    this.app.use(async (ctx: Context, next: Next) => {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        ctx.type = 'html';
        ctx.body = page('Not found');
        ctx.status = 404;
      }
    });
    this.app.use(this.toolbar.routes);
    this.app.use(async (ctx: Context, next: Next) => {
      if (ctx.path === '/static/toolbar/toolbar.js') {
        ctx.type = 'js';
        ctx.body = '/* toolbar */';
        return;
      }
      await next();
    });
    this.app.use(async (ctx: Context, next: Next) => {
      await next();
      this.innerBodies.push(ctx.body);
    });
    this.app.use(router.routes());
  }

  /** The developer's browser: a supertest agent of the listening server that keeps its cookies. */
  http(): supertest.Agent {
    if (!this.server) throw new Error('ToolbarApp is closed');
    this.developer ??= supertest.agent(this.server);
    return this.developer;
  }

  /** Another browser: a new agent with cookies of its own. */
  browser(): supertest.Agent {
    if (!this.server) throw new Error('ToolbarApp is closed');
    return supertest.agent(this.server);
  }

  /** The origin the server listens on, as a browser would send it. */
  origin(): string {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Stops the server and the toolbar. */
  async close(): Promise<void> {
    await this.swr.idle();
    this.toolbar.close();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Whether a response body carries the bar. */
export function hasBar(text: string | undefined): boolean {
  return (text ?? '').includes('id="kiln-toolbar"');
}
