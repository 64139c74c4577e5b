import type { Middleware } from 'koa';
import type { Cache } from '../cache.ts';
import type { RequestInspector } from '../koa/request-frame.ts';
import { systemClock, type Clock } from '../types.ts';
import { hostNames, LOCAL_HOST_NAMES, type ToolbarConfig } from './access.ts';
import type { QueryExplainer } from './actions.ts';
import { AppInfo, routeRows, type AppInfoOptions, type RouterLike } from './app-info.ts';
import { RequestCollector, type CollectorOptions } from './collector.ts';
import { watchLogger, type WatchableLogger } from './logger.ts';
import { TOOLBAR_PATHS, toolbarInspector, type ToolbarAssetUrl } from './inspector.ts';
import { toolbarRoutes } from './routes.ts';
import { watchViews, type WatchableViews } from './templates.ts';
import { ToolbarToken } from './token.ts';

/** Options of {@link createToolbar}. */
export interface ToolbarOptions {
  config: ToolbarConfig;
  /** The cache whose operations are shown and which the Clear button clears. */
  cache: Cache;
  /** The app's secret (at least 16 characters), from which the Clear button's token key is derived. */
  secret: string;
  /**
   * The host names the toolbar answers for, any port (default {@link LOCAL_HOST_NAMES}); a
   * request addressed to another name gets no bar and a 404 from its routes, and its POST needs an
   * `Origin` on one of them. Apps pass their site's name and the loopback names.
   */
  hosts?: readonly string[];
  clock?: Clock;
  /** Bounds of the request store, or the store itself (made before the toolbar, e.g. to watch the logger the cache gets). */
  collector?: CollectorOptions | RequestCollector;
  /** Settings and versions for their tabs (the library reads no environment itself). */
  info?: Omit<AppInfoOptions, 'routes'>;
  /**
   * Exact secret values (the session secret, passwords, tokens) replaced wherever they would
   * appear in a bar or a toolbar answer; a net under the masking of settings and headers.
   */
  secrets?: readonly (string | undefined)[];
  /**
   * Whether the key actions (TTL and tags, drop a key, invalidate a tag) are offered; only in
   * development (default false).
   */
  keyActions?: boolean;
  /** EXPLAIN of a recorded SELECT, offered when given; only in development. */
  explain?: QueryExplainer;
  /**
   * The URL of each of the bar's files under `/static/toolbar/`, for an app whose static URLs
   * carry a content hash (default: the plain `/static/toolbar/toolbar.css` and `.js`).
   */
  assetUrl?: ToolbarAssetUrl;
}

/** The pieces of the dev toolbar, built once per app. */
export interface Toolbar {
  /** Records requests; also the sink of the SQL logger. */
  readonly collector: RequestCollector;
  /** The request scope and bar injection, for the request frame; undefined when the toolbar is off. */
  readonly inspector: RequestInspector | undefined;
  /** `/_toolbar/*` and the asset guard; mount inside the error handler, before static files and CSRF. */
  readonly routes: Middleware;
  /** Views whose templates and render time are recorded. */
  watchViews<V extends WatchableViews>(views: V): V;
  /** A logger whose lines also go on the request they belong to (the Logging tab); `logger` itself when off. */
  watchLogger<L extends WatchableLogger>(logger: L): L;
  /** Gives the Routes tab the app's @koa/router routers, in mounting order. */
  showRoutes(routers: readonly RouterLike[]): void;
  /** Stops listening to the cache. */
  close(): void;
}

/**
 * Builds the dev toolbar. When `config.enabled` is false nothing listens to the cache, there is
 * no inspector, and the routes and assets answer 404.
 *
 * @example
 * const toolbar = createToolbar({ config: config.toolbar, cache, secret: config.sessionSecret,
 *   hosts: [new URL(config.siteUrl).hostname, ...LOCAL_HOST_NAMES] });
 * useRequestFrame(app, { headers, inspector: toolbar.inspector });
 * app.use(errorHandler(logger));
 * app.use(toolbar.routes);
 */
export function createToolbar(options: ToolbarOptions): Toolbar {
  const { config, cache } = options;
  const access = { config, hosts: hostNames(options.hosts ?? LOCAL_HOST_NAMES) };
  const collector = options.collector instanceof RequestCollector ? options.collector : new RequestCollector({ clock: options.clock, ...options.collector });
  const token = new ToolbarToken(options.secret, options.clock ?? systemClock);
  const stop = config.enabled ? collector.watch(cache) : () => {};
  let routers: readonly RouterLike[] = [];
  const info = new AppInfo({ ...options.info, routes: () => routeRows(routers) });
  const secrets = [options.secret, ...(options.secrets ?? [])].filter((s): s is string => typeof s === 'string');
  const keyActions = options.keyActions ?? false;
  const shared = { access, collector, cache, token, info, secrets, ...TOOLBAR_PATHS };
  return {
    collector,
    inspector: config.enabled
      ? toolbarInspector({ ...shared, assetUrl: options.assetUrl, actions: { keys: keyActions, explain: options.explain !== undefined } })
      : undefined,
    routes: toolbarRoutes({ ...shared, keyActions, explain: options.explain }),
    watchViews: (views) => (config.enabled ? watchViews(views, collector) : views),
    watchLogger: (logger) => (config.enabled ? watchLogger(logger, collector) : logger),
    showRoutes: (list) => void (routers = list),
    close: stop,
  };
}
