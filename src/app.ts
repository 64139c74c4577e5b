import { join } from 'node:path';
import type { Router } from '@koa/router';
import Koa from 'koa';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { BlogCaching, type CachedRoute } from './blog/caching.ts';
import { adminRoutes } from './blog/routes/admin.ts';
import { apiRoutes } from './blog/routes/api.ts';
import { authRoutes, staleAuthForms } from './blog/routes/auth.ts';
import { feedRoutes } from './blog/routes/feed.ts';
import { healthRoutes } from './blog/routes/health.ts';
import { keptSaves, saveTarget } from './blog/routes/kept-saves.ts';
import { metricsRoutes } from './blog/routes/metrics.ts';
import { pageRoutes } from './blog/routes/pages.ts';
import { assertCaseSensitive } from './blog/routes/router.ts';
import type { PasswordHasher } from './blog/password.ts';
import { PostRendering } from './blog/post-rendering.ts';
import { stdoutLines, type LineWriter, type Logger } from './log.ts';
import type { LoginAttemptStore } from './blog/services/login-attempts.ts';
import { createLoginAttemptStore, createSessionStore } from './blog/services/session-stores.ts';
import type { SessionStore } from './blog/services/sessions.ts';
import { UserService } from './blog/services/users.ts';
import { accessLog } from './blog/web/access-log.ts';
import { authorArea, loadAuthor } from './blog/web/auth.ts';
import { bodyParser } from './blog/web/body.ts';
import { isCanonicalPath } from './blog/web/canonical-path.ts';
import { LoginCsrf, csrfProtection } from './blog/web/csrf.ts';
import { errorHandler } from './blog/web/errors.ts';
import { takeFlash } from './blog/web/flash.ts';
import { forwardedHeaders } from './blog/web/forwarded.ts';
import { requestIds } from './blog/web/request-id.ts';
import { privateWhenPersonal, securityHeadersFor } from './blog/web/security-headers.ts';
import { sessionMiddleware } from './blog/web/session.ts';
import { attachSqlLogger } from './blog/web/sql-logger.ts';
import { staticFiles } from './blog/web/static.ts';
import { StaticAssets } from './blog/web/static-assets.ts';
import { LoginThrottle } from './blog/web/throttle.ts';
import { blogExplainer, blogSecrets, blogVersions } from './blog/web/toolbar-info.ts';
import { createViews } from './blog/web/views.ts';
import { wirePostWrites } from './blog/writes.ts';
import { CacheMetrics, createCache, HttpPurger, purgeOpEvent, systemClock, type Cache, type Clock, type PurgeEvent } from './cache/index.ts';
import { responseCompression, useRequestFrame } from './cache/koa/index.ts';
import { FragmentCacheExtension } from './cache/nunjucks/index.ts';
import { createToolbar, LOCAL_HOST_NAMES, RequestCollector, watchLogger, type Toolbar } from './cache/toolbar/index.ts';
import type { Config } from './config.ts';
import { consoleLogger } from './log.ts';
import { localExposition, type FamilySource, type MetricsExposition } from './fleet-metrics.ts';
import { processFamilies } from './process-metrics.ts';
import { PROJECT_ROOT } from './root.ts';

/** What `createApp` needs from outside: the opened (migrated) database, and optional doubles. */
export interface AppDeps {
  dataSource: DataSource;
  /** The cache for pages, fragments and memoized work (default: one built from `config.cache`). */
  cache?: Cache;
  clock?: Clock;
  logger?: Logger;
  /** Where sessions live (default: one built from `config.session`; the caller then cannot close it). */
  sessions?: SessionStore;
  /** Where the login throttle counts (default: one beside the sessions, from `config.session`; the caller then cannot close it). */
  loginAttempts?: LoginAttemptStore;
  /** How passwords are hashed (default scrypt at OWASP's parameters; only tests pass a cheaper one). */
  passwords?: PasswordHasher;
  /** Where access log lines go (default: buffered standard output); `null` writes none (a command that is not a server). */
  accessLog?: LineWriter | null;
  /** This process's worker number, written in the access log (default 0: the only process). */
  worker?: number;
  /** What /metrics shows of this process's families (default: them alone; a cluster worker passes `workerExposition`, which shows the fleet's). */
  exposeMetrics?: (source: FamilySource) => MetricsExposition;
}

/** Where the Nunjucks templates live (the repository's views/). */
export const VIEWS_DIR = join(PROJECT_ROOT, 'views');
/** Where the files served under /static/ live (the repository's static/). */
export const STATIC_DIR = join(PROJECT_ROOT, 'static');

/** Login attempts: at most 10 per client per 15 minutes without signing in. */
export const LOGIN_THROTTLE = { maxAttempts: 10, windowMs: 15 * 60 * 1000 } as const;

/** The test-only crash between a write's commit and its invalidation (`KILN_TEST_CRASH_AFTER_COMMIT`). */
function crashAfterCommit(config: Config): (() => void) | undefined {
  if (!config.crashAfterCommit) return undefined;
  return () => process.kill(process.pid, 'SIGKILL');
}

/**
 * Builds the blog's Koa app without listening and without touching the schema (the caller has
 * run migrations and seeding).
 *
 * @example
 * const app = await createApp(loadConfig(), { dataSource: await openDatabase(url) });
 * app.listen(3000);
 */
export async function createApp(config: Config, deps: AppDeps): Promise<Koa> {
  const clock = deps.clock ?? systemClock;
  // Made first so the logger the cache and services get also notes lines on the toolbar's request.
  const collector = new RequestCollector({ clock: deps.clock });
  const logger = config.toolbar.enabled ? watchLogger(deps.logger ?? consoleLogger(), collector) : (deps.logger ?? consoleLogger());
  // Forwarding headers count only from the proxies TRUST_PROXY names; forwardedHeaders() drops
  // them from every other peer and leaves one X-Forwarded-For address from a trusted one.
  const app = new Koa({ proxy: config.trustProxy.kind !== 'none', maxIpsCount: 1, keys: [config.sessionSecret] });

  const cache = deps.cache ?? (await createCache(config.cache, { clock, logger }));
  // Static files and their content-hashed URLs (`asset('css/site.css')` in templates).
  const statics = new StaticAssets({ root: STATIC_DIR });
  const toolbar = devToolbar(config, { cache, statics, dataSource: deps.dataSource, clock, collector });
  const metrics = new CacheMetrics();
  metrics.watch(cache);
  const rendering = new PostRendering(logger);
  const purger = httpPurger(config, logger, metrics, toolbar);
  // Every post write records its tags in the outbox and invalidates (and purges) after commit (src/blog/writes.ts).
  const { posts, outbox } = wirePostWrites(deps.dataSource, { cache, purger, clock, logger, afterCommit: crashAfterCommit(config) });
  const pages = new BlogCaching(cache, posts, rendering, { logger, purger });
  const loginCsrf = new LoginCsrf({ secret: config.sessionSecret, clock, secure: config.secureCookies });
  const loginAttempts = deps.loginAttempts ?? createLoginAttemptStore(config.session, { dataSource: deps.dataSource, clock, logger });
  const throttle = new LoginThrottle({ ...LOGIN_THROTTLE, store: loginAttempts, clock });
  const users = new UserService(deps.dataSource, { hasher: deps.passwords, logger });
  app.context.services = { posts, users, caching: pages, rendering, outbox, loginThrottle: throttle };
  app.context.render = pageRenderer(config, cache, toolbar, statics);

  useOutermostFrame(app, config, deps, { metrics, pages, toolbar });
  app.use(errorHandler(logger));
  // Its routes answer their own POST (token + Origin), so they come before the body parser and CSRF.
  app.use(toolbar.routes);
  app.use(staticFiles(statics, { aliases: { '/favicon.ico': 'favicon.ico' } }));
  const sessions = deps.sessions ?? createSessionStore(config.session, { dataSource: deps.dataSource, clock, logger });
  app.use(sessionMiddleware(app, config, sessions));
  app.use(loadAuthor());
  const admin = adminRoutes();
  app.use(authorArea(admin, { signedOutSaves: (ctx) => saveTarget(admin, ctx) !== undefined }));
  app.use(bodyParser({ limitBytes: config.bodyLimitBytes }));
  // Forms a tab kept while the session changed elsewhere get a way on, never a dead end (and never a lost text).
  const staleForms = [staleAuthForms({ loginCsrf, throttle }), keptSaves(admin, throttle)];
  app.use(csrfProtection({ siteUrl: config.siteUrl, login: loginCsrf, staleForms }));
  // Page caching and memoized post HTML (src/blog/caching.ts).
  const cached: CachedRoute = (name, handler) => pages.page(name, handler);
  const routers = [
    pageRoutes({ cached }),
    feedRoutes({ siteUrl: config.siteUrl, cached }),
    apiRoutes({ cached }),
    authRoutes({ loginCsrf, throttle }),
    admin,
    metricsRoutes({ metrics: (deps.exposeMetrics ?? localExposition)(async () => [...(await metrics.families()), ...processFamilies()]), token: config.metricsToken }),
    healthRoutes({ cache, dataSource: deps.dataSource }),
  ];
  mountRouters(app, routers);
  toolbar.showRoutes(routers);
  return app;
}

/**
 * The one outermost layer, before Koa's own handling and first in the chain: the request
 * normalised once, the headers and personal rule of every response, metrics, the page cache's
 * early answers and the toolbar (src/cache/koa/request-frame.ts).
 */
function useOutermostFrame(app: Koa, config: Config, deps: AppDeps, parts: { metrics: CacheMetrics; pages: BlogCaching; toolbar: Toolbar }): void {
  const { metrics, pages, toolbar } = parts;
  const out = deps.accessLog === undefined ? stdoutLines() : deps.accessLog;
  const log = out === null ? undefined : accessLog({ level: config.logLevel, format: config.logFormat, worker: deps.worker ?? 0, out });
  useRequestFrame(app, {
    headers: securityHeadersFor(config.siteUrl),
    // Before anything reads the client's address, scheme or host.
    normalize: forwardedHeaders(config.trustProxy),
    // Every other spelling of a path is a 404 before anything reads it (early answers and cache
    // keys, the toolbar's asset guard, the static files, the author's area, the routers).
    admit: (ctx) => isCanonicalPath(ctx.request.path),
    personalize: privateWhenPersonal,
    reporters: log === undefined ? [metrics.requestReporter()] : [metrics.requestReporter(), log],
    // A trusted proxy's X-Request-Id, else a new one; on every response and in the access log.
    requestId: requestIds({ trustProxy: config.trustProxy }),
    // Readers' cached pages, answered before sessions, CSRF and routing (src/blog/caching.ts).
    earlyAnswers: pages.pageCache.prepared,
    // Around the error handler (error pages get the bar) and the page cache (stored pages never do).
    inspector: toolbar.inspector,
    // Cached pages carry their compressed forms (made once, when stored); any other response of
    // 1 KB or more is compressed here, after the toolbar put its bar in.
    compression: responseCompression(),
  });
}

/** What the toolbar is built from. */
interface ToolbarParts {
  cache: Cache;
  statics: StaticAssets;
  dataSource: DataSource;
  clock: Clock;
  collector: RequestCollector;
}

/**
 * The dev toolbar (per-request cache ops, SQL, templates, headers, logs; settings, versions,
 * routes); off, it answers nothing and costs nothing. Its key actions and EXPLAIN are offered
 * outside production only.
 */
function devToolbar(config: Config, { cache, statics, dataSource, clock, collector }: ToolbarParts): Toolbar {
  const development = config.nodeEnv !== 'production';
  const toolbar = createToolbar({
    config: config.toolbar,
    cache,
    secret: config.sessionSecret,
    // The names the toolbar answers for: the site's own and loopback (DNS rebinding gets a 404).
    hosts: [new URL(config.siteUrl).hostname, ...LOCAL_HOST_NAMES],
    clock,
    collector,
    assetUrl: (file) => statics.url(`toolbar/${file}`),
    info: { settings: config, versions: blogVersions(config, dataSource) },
    secrets: blogSecrets(config),
    keyActions: development,
    explain: development ? blogExplainer(dataSource) : undefined,
  });
  if (config.toolbar.enabled) attachSqlLogger(dataSource, toolbar.collector);
  return toolbar;
}

/**
 * What purges the shared HTTP caches in front of Kiln (HTTP_CACHE_PURGE_URLS; deploy/varnish/)
 * after every invalidation, counted in /metrics and shown by the toolbar; none when unset.
 */
function httpPurger(config: Config, logger: Logger, metrics: CacheMetrics, toolbar: Toolbar): HttpPurger | undefined {
  if (config.httpCachePurgeUrls.length === 0) return undefined;
  const purger = new HttpPurger({ urls: config.httpCachePurgeUrls, logger });
  metrics.watchPurges(purger);
  if (config.toolbar.enabled) purger.events.on('purge', (event: PurgeEvent) => toolbar.collector.recordCacheEvent(purgeOpEvent(event)));
  return purger;
}

/** The app's `ctx.render`: a Nunjucks view with the site, the author, the CSRF token and the author's flash, and nothing else of the request. */
function pageRenderer(config: Config, cache: Cache, toolbar: Toolbar, statics: StaticAssets) {
  const views = toolbar.watchViews(createViews({ dir: VIEWS_DIR, noCache: config.nodeEnv === 'development' }));
  views.env.addExtension('FragmentCache', new FragmentCacheExtension(cache));
  views.env.addGlobal('asset', (path: string) => statics.url(path));
  const site = { name: 'Kiln', url: config.siteUrl };
  return async function render(this: Context, template: string, data: Record<string, unknown> = {}): Promise<void> {
    // Only what templates need from the request is passed, so nothing else can leak into a page.
    const html = await views.render(template, {
      site,
      author: this.state.author,
      csrfToken: this.state.csrfToken,
      // The author's one-shot message, used up by the page that shows it; a page that names its
      // own (an error page, which a stray request like a missing favicon may render) leaves it.
      flash: 'flash' in data ? data.flash : takeFlash(this),
      ...data,
    });
    this.type = 'html';
    this.body = html;
  };
}

/** Mounts the routers, each checked to match paths case-sensitively (routes/router.ts). */
function mountRouters(app: Koa, routers: readonly Router[]): void {
  for (const router of routers) {
    assertCaseSensitive(router);
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
}
