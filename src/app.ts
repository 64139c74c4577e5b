import { join } from 'node:path';
import type { Router } from '@koa/router';
import Koa from 'koa';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { BlogCache, SIDEBAR_TIMEOUT, type CachedRoute } from './blog/caching.ts';
import { adminRoutes } from './blog/routes/admin.ts';
import { apiRoutes } from './blog/routes/api.ts';
import { authRoutes } from './blog/routes/auth.ts';
import { feedRoutes } from './blog/routes/feed.ts';
import { healthRoutes } from './blog/routes/health.ts';
import { metricsRoutes } from './blog/routes/metrics.ts';
import { pageRoutes } from './blog/routes/pages.ts';
import { assertCaseSensitive } from './blog/routes/router.ts';
import type { Logger } from './blog/seed.ts';
import { PostService } from './blog/services/posts.ts';
import { createSessionStore } from './blog/services/session-stores.ts';
import type { SessionStore } from './blog/services/sessions.ts';
import { UserService } from './blog/services/users.ts';
import { authorArea, loadAuthor } from './blog/web/auth.ts';
import { bodyParser } from './blog/web/body.ts';
import { isCanonicalPath } from './blog/web/canonical-path.ts';
import { LoginCsrf, csrfProtection } from './blog/web/csrf.ts';
import { errorHandler } from './blog/web/errors.ts';
import { privateWhenPersonal, securityHeadersFor } from './blog/web/security-headers.ts';
import { sessionMiddleware } from './blog/web/session.ts';
import { attachSqlLogger } from './blog/web/sql-logger.ts';
import { staticFiles } from './blog/web/static.ts';
import { LoginThrottle } from './blog/web/throttle.ts';
import { createViews } from './blog/web/views.ts';
import type { Cache } from './cache/cache.ts';
import { createCache } from './cache/config.ts';
import { metricsReporter, requestFrame } from './cache/koa/index.ts';
import { CacheMetrics } from './cache/metrics.ts';
import { FragmentCacheExtension } from './cache/nunjucks/fragment-tag.ts';
import { LOCAL_HOST_NAMES } from './cache/toolbar/access.ts';
import { createToolbar, type Toolbar } from './cache/toolbar/toolbar.ts';
import { systemClock, type Clock } from './cache/types.ts';
import type { Config } from './config.ts';
import { consoleLogger } from './log.ts';
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
}

/** Where the Nunjucks templates live (the repository's views/). */
export const VIEWS_DIR = join(PROJECT_ROOT, 'views');
/** Where the files served under /static/ live (the repository's static/). */
export const STATIC_DIR = join(PROJECT_ROOT, 'static');

/** Login attempts: at most 10 failures per client per 15 minutes. */
export const LOGIN_THROTTLE = { maxFailures: 10, windowMs: 15 * 60 * 1000 } as const;

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
  const logger = deps.logger ?? consoleLogger();
  // X-Forwarded-* only behind a configured proxy, and then only the address our proxy saw.
  const app = new Koa({ proxy: config.trustProxy, maxIpsCount: 1, keys: [config.sessionSecret] });

  const cache = deps.cache ?? (await createCache(config.cache, { clock, logger }));
  // kiln:toolbar — the dev toolbar (per-request cache ops, SQL, templates) and /metrics.
  const toolbar = createToolbar({
    config: config.toolbar,
    cache,
    secret: config.sessionSecret,
    // The names the toolbar answers for: the site's own and loopback (DNS rebinding gets a 404).
    hosts: [new URL(config.siteUrl).hostname, ...LOCAL_HOST_NAMES],
    clock,
  });
  if (config.toolbar.enabled) attachSqlLogger(deps.dataSource, toolbar.collector);
  const metrics = new CacheMetrics();
  metrics.watch(cache);
  const posts = new PostService(deps.dataSource, clock);
  const pages = new BlogCache(cache, posts, { logger });
  app.context.services = { posts, users: new UserService(deps.dataSource), pages };
  app.context.render = pageRenderer(config, cache, toolbar);

  // kiln:request-frame — the one outermost middleware: the headers and personal rule of every
  // response, metrics, the page cache's early answers and the toolbar (src/cache/koa/request-frame.ts).
  app.use(
    requestFrame({
      headers: securityHeadersFor(config.siteUrl),
      // Every other spelling of a path is a 404 before anything reads it (early answers and cache
      // keys, the toolbar's asset guard, the static files, the author's area, the routers).
      admit: (ctx) => isCanonicalPath(ctx.path),
      personalize: privateWhenPersonal,
      reporters: [metricsReporter(metrics)],
      // kiln:page-front — readers' cached pages, answered before sessions, CSRF and routing (src/blog/caching.ts).
      earlyAnswers: pages.pageCache.prepared,
      // Around the error handler (error pages get the bar) and the page cache (stored pages never do).
      inspector: toolbar.inspector,
    }),
  );
  app.use(errorHandler(logger));
  // Its routes answer their own POST (token + Origin), so they come before the body parser and CSRF.
  app.use(toolbar.routes);
  app.use(staticFiles(STATIC_DIR));
  const sessions = deps.sessions ?? createSessionStore(config.session, { dataSource: deps.dataSource, clock, logger });
  app.use(sessionMiddleware(app, config, sessions));
  app.use(loadAuthor());
  const admin = adminRoutes();
  app.use(authorArea(admin));
  app.use(bodyParser({ limitBytes: config.bodyLimitBytes }));
  const loginCsrf = new LoginCsrf({ secret: config.sessionSecret, clock, secure: config.secureCookies });
  app.use(csrfProtection({ siteUrl: config.siteUrl, login: loginCsrf }));
  // kiln:cache-wired — page caching, the sidebar fragment and memoized post HTML (src/blog/caching.ts).
  const cached: CachedRoute = (name, handler) => pages.page(name, handler);
  mountRouters(app, [
    pageRoutes({ cached }),
    feedRoutes({ siteUrl: config.siteUrl, cached }),
    apiRoutes({ cached }),
    authRoutes({ loginCsrf, throttle: new LoginThrottle({ ...LOGIN_THROTTLE, clock }) }),
    admin,
    metricsRoutes({ metrics, token: config.metricsToken }),
    healthRoutes({ cache, dataSource: deps.dataSource }),
  ]);
  return app;
}

/** The app's `ctx.render`: a Nunjucks view with the site, the author and the CSRF token, and nothing else of the request. */
function pageRenderer(config: Config, cache: Cache, toolbar: Toolbar) {
  const views = toolbar.watchViews(createViews({ dir: VIEWS_DIR, noCache: config.nodeEnv === 'development' }));
  views.env.addExtension('FragmentCache', new FragmentCacheExtension(cache));
  views.env.addGlobal('sidebarTimeout', SIDEBAR_TIMEOUT);
  const site = { name: 'Kiln', url: config.siteUrl };
  return async function render(this: Context, template: string, data: Record<string, unknown> = {}): Promise<void> {
    // Only what templates need from the request is passed, so nothing else can leak into a page.
    const html = await views.render(template, {
      site,
      author: this.state.author,
      csrfToken: this.state.csrfToken,
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
