import { isUtf8 } from 'node:buffer';
import type { Context } from 'koa';
import type { Cache } from '../cache.ts';
import type { RequestInspector } from '../koa/request-frame.ts';
import { matchedRoute } from '../koa/route-name.ts';
import type { CacheStats } from '../telemetry.ts';
import { toolbarAllowed, type ToolbarAccess } from './access.ts';
import type { AppInfo } from './app-info.ts';
import { browserIdOf, newBrowserId, setBrowserId } from './browser.ts';
import type { RequestCollector, RequestRecord } from './collector.ts';
import { maskHeaders, redactSecrets } from './mask.ts';
import { renderToolbar } from './panel.ts';
import type { ToolbarToken } from './token.ts';

/** Where the toolbar's routes and assets live unless told otherwise. */
export const TOOLBAR_PATHS = { base: '/_toolbar', assets: '/static/toolbar/' } as const;

/** The toolbar's files, served under its assets folder. */
export type ToolbarAsset = 'toolbar.css' | 'toolbar.js';

/**
 * Makes the URL of one of the toolbar's files, e.g. with a content hash so it can be cached for
 * good. It must stay under the assets folder, which the toolbar's routes guard.
 */
export type ToolbarAssetUrl = (file: ToolbarAsset) => string;

/** The default URL of a toolbar file: the assets folder and its name (`/static/toolbar/toolbar.js`). */
export function plainAssetUrl(assets: string): ToolbarAssetUrl {
  return (file) => `${assets}${file}`;
}

/** Response header naming the request's toolbar record, on every response that has one. */
export const TOOLBAR_ID_HEADER = 'X-Kiln-Toolbar-Id';

/** Options of {@link toolbarInspector}. */
export interface ToolbarInspectorOptions {
  /** Whether it is on, for which clients and on which host names. */
  access: ToolbarAccess;
  /** Where requests are recorded. */
  collector: RequestCollector;
  /** The cache whose counters the Stats tab shows. */
  cache: Cache;
  /** Issues the Clear cache button's token. */
  token: ToolbarToken;
  /** Path of the toolbar's routes (default `/_toolbar`). */
  base?: string;
  /** URL folder of toolbar.css and toolbar.js, ending in `/` (default `/static/toolbar/`). */
  assets?: string;
  /** The URL of each of the bar's files (default {@link plainAssetUrl} in `assets`). */
  assetUrl?: ToolbarAssetUrl;
  /** Earlier requests shown in the History tab (default 10). */
  historySize?: number;
  /** Requests not worth recording (default {@link skipAssets}: `/favicon.ico` and `/static/…`). */
  skip?: (path: string) => boolean;
  /** Settings, versions and routes for their tabs. */
  info?: AppInfo;
  /** Exact secret values that must never appear in the bar (see `redactSecrets`). */
  secrets?: readonly string[];
  /** Whether the bar offers the key actions and EXPLAIN (the routes answer them). */
  actions?: { keys: boolean; explain: boolean };
}

/** The default of `skip`: the browser's favicon request and static files, which would crowd the History tab. */
export function skipAssets(path: string): boolean {
  return path === '/favicon.ico' || path.startsWith('/static/');
}

/** Whether a path is the toolbar's own (its routes or assets), which are never recorded. */
export function isToolbarPath(path: string, base: string = TOOLBAR_PATHS.base, assets: string = TOOLBAR_PATHS.assets): boolean {
  return path === base || path.startsWith(`${base}/`) || path.startsWith(assets);
}

/**
 * Whether the finished response may get the bar: a complete HTML document body (string or
 * Buffer, UTF-8) about to be sent in full, of any status. Never JSON, feeds, other types,
 * streams, HEAD, 204/304, encoded bodies or responses written outside Koa.
 */
export function isInjectable(ctx: Context): boolean {
  if (ctx.method === 'HEAD' || ctx.respond === false || ctx.headerSent) return false;
  if (ctx.status === 204 || ctx.status === 304) return false;
  if (ctx.response.is('html') === false) return false;
  const encoding = responseHeader(ctx, 'Content-Encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return false;
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(responseHeader(ctx, 'Content-Type'))?.[1].toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return false;
  const body: unknown = ctx.body;
  return typeof body === 'string' || (Buffer.isBuffer(body) && isUtf8(body));
}

/** A response header as text, '' when absent (Koa returns undefined then, whatever its types say). */
function responseHeader(ctx: Context, name: string): string {
  const value: unknown = ctx.response.get(name);
  if (Array.isArray(value)) return value.join(', ');
  return value === undefined || value === null ? '' : String(value);
}

/** The bar's HTML for one request of `browser`, with its history, the cache's counters and the app's info; named secrets replaced. */
async function barFor(
  options: ToolbarInspectorOptions & { base: string; assetUrl: ToolbarAssetUrl; historySize: number },
  record: RequestRecord,
  browser: string,
): Promise<string> {
  const { cache, collector, info } = options;
  let stats: CacheStats | undefined;
  try {
    stats = await cache.stats();
  } catch {
    stats = undefined;
  }
  const history = collector.recent(browser).filter((other) => other !== record).slice(0, options.historySize);
  const versions = info === undefined ? undefined : await collector.outside(() => info.versions());
  const bar = renderToolbar({
    record,
    history,
    stats,
    breakerState: cache.store.breaker?.breakerState,
    clearToken: options.token.issue(),
    urls: { base: options.base, css: options.assetUrl('toolbar.css'), js: options.assetUrl('toolbar.js') },
    settings: info?.settings,
    versions,
    routes: info?.routes(),
    actions: options.actions?.keys,
    explain: options.actions?.explain,
  });
  return redactSecrets(bar, options.secrets ?? []);
}

/** Bytes of a body Koa will send as it is, undefined for streams and other objects. */
function bodySize(body: unknown): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body);
  return Buffer.isBuffer(body) ? body.length : undefined;
}

/** `html` with `bar` inserted just before its last `</body>`, or undefined when it has none. */
export function injectBeforeBodyEnd(html: string, bar: string): string | undefined {
  let at = -1;
  for (const match of html.matchAll(/<\/body\s*>/gi)) at = match.index;
  if (at < 0) return undefined;
  return `${html.slice(0, at)}${bar}${html.slice(at)}`;
}

/**
 * The dev toolbar's request scope, run by the request frame (request-frame.ts) around each
 * request it `wants`: one from an allowed client to one of the site's host names, not for the
 * toolbar's own paths or skipped assets. It records the request's cache operations, SQL and
 * templates as a request of its browser (browser.ts), and once the response is made (an early
 * answer of the page cache or the chain's) injects the bar, with that browser's history, into an
 * HTML response just before `</body>`. A stored page therefore never contains the bar, and a page
 * served from the cache gets one showing the lookup that served it.
 * A replayed cached Buffer is never modified: the bar goes into a new string. A page with the bar
 * loses its ETag (it no longer describes these bytes) and is sent `Cache-Control: no-store`.
 *
 * @example
 * useRequestFrame(app, { headers, inspector: toolbarInspector({ access, collector, cache, token }) });
 */
export function toolbarInspector(options: ToolbarInspectorOptions): RequestInspector {
  const { access, collector } = options;
  const base = options.base ?? TOOLBAR_PATHS.base;
  const assets = options.assets ?? TOOLBAR_PATHS.assets;
  const historySize = options.historySize ?? 10;
  const skip = options.skip ?? skipAssets;
  if (!assets.endsWith('/')) throw new TypeError('toolbarInspector: `assets` must end with /');
  const assetUrl = options.assetUrl ?? plainAssetUrl(assets);

  const bar = (record: RequestRecord, browser: string) => barFor({ ...options, base, assetUrl, historySize }, record, browser);
  /** Puts the bar into an HTML response; returns whether it did. */
  async function inject(ctx: Context, record: RequestRecord, browser: string): Promise<boolean> {
    if (!isInjectable(ctx)) return false;
    const body: unknown = ctx.body;
    const html = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
    if (html === undefined) return false;
    const injected = injectBeforeBodyEnd(html, await bar(record, browser));
    if (injected === undefined) return false;
    ctx.body = injected;
    ctx.remove('ETag');
    ctx.set('Cache-Control', 'no-store');
    return true;
  }

  return {
    wants: (ctx) => toolbarAllowed(ctx, access) && !isToolbarPath(ctx.path, base, assets) && !skip(ctx.path),
    async inspect(ctx, answer) {
      const known = browserIdOf(ctx);
      const browser = known ?? newBrowserId();
      await collector.run({ method: ctx.method, url: ctx.originalUrl, browser, requestId: ctx.state.requestId }, async (record) => {
        try {
          await answer();
        } finally {
          const page = ctx.state.pageCache;
          collector.finish(record, {
            status: ctx.status,
            route: matchedRoute(ctx),
            pageCache: page?.status,
            pageCacheReason: page?.reason,
            responseBytes: bodySize(ctx.body),
            // The response's headers as the app made them, before the bar's own changes (ETag, no-store).
            headers: { request: maskHeaders(ctx.request.headers), response: maskHeaders(ctx.response.headers) },
          });
        }
        ctx.set(TOOLBAR_ID_HEADER, record.id);
        // The id goes only on a page that shows the bar: it already is no-store, past the page cache.
        if ((await inject(ctx, record, browser)) && known === undefined) setBrowserId(ctx, browser);
      });
    },
  };
}
