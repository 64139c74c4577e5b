import { join } from 'node:path';
import Koa from 'koa';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import { BlogCache } from './blog/caching.ts';
import { adminRoutes } from './blog/routes/admin.ts';
import { apiRoutes } from './blog/routes/api.ts';
import { authRoutes } from './blog/routes/auth.ts';
import { feedRoutes } from './blog/routes/feed.ts';
import { healthRoutes } from './blog/routes/health.ts';
import { metricsRoutes } from './blog/routes/metrics.ts';
import { pageRoutes } from './blog/routes/pages.ts';
import { assertCaseSensitive } from './blog/routes/router.ts';
import { pageFront } from './blog/web/page-front.ts';
import type { PasswordHasher } from './blog/password.ts';
import { PostRendering } from './blog/post-rendering.ts';
import type { Logger } from './blog/seed.ts';
import type { LoginAttemptStore } from './blog/services/login-attempts.ts';
import { createLoginAttemptStore, createSessionStore } from './blog/services/session-stores.ts';
import type { SessionStore } from './blog/services/sessions.ts';
import { UserService } from './blog/services/users.ts';
import { authorArea, loadAuthor } from './blog/web/auth.ts';
import { bodyParser } from './blog/web/body.ts';
import { canonicalPaths } from './blog/web/canonical-path.ts';
import { LoginCsrf, csrfProtection } from './blog/web/csrf.ts';
import { errorHandler } from './blog/web/errors.ts';
import { forwardedHeaders } from './blog/web/forwarded.ts';
import { SECURITY_HEADERS, securityHeaders } from './blog/web/security-headers.ts';
import { sessionMiddleware } from './blog/web/session.ts';
import { attachSqlLogger } from './blog/web/sql-logger.ts';
import { staticFiles } from './blog/web/static.ts';
import { LoginThrottle } from './blog/web/throttle.ts';
import { createViews } from './blog/web/views.ts';
import { wirePostWrites } from './blog/writes.ts';
import type { Cache } from './cache/cache.ts';
import { createCache } from './cache/config.ts';
import { HttpPurger, purgeOpEvent, type PurgeEvent } from './cache/http-purge.ts';
import { CacheMetrics, httpMetrics } from './cache/metrics.ts';
import { FragmentCacheExtension } from './cache/nunjucks/fragment-tag.ts';
import { LOCAL_HOST_NAMES } from './cache/toolbar/access.ts';
import { createToolbar } from './cache/toolbar/toolbar.ts';
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
  /** Where the login throttle counts (default: one beside the sessions, from `config.session`; the caller then cannot close it). */
  loginAttempts?: LoginAttemptStore;
  /** How passwords are hashed (default scrypt at OWASP's parameters; only tests pass a cheaper one). */
  passwords?: PasswordHasher;
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
  const logger = deps.logger ?? consoleLogger();
  // Forwarding headers count only from the proxies TRUST_PROXY names; forwardedHeaders() drops
  // them from every other peer and leaves one X-Forwarded-For address from a trusted one.
  const app = new Koa({ proxy: config.trustProxy.kind !== 'none', maxIpsCount: 1, keys: [config.sessionSecret] });

  const cache = deps.cache ?? (await createCache(config.cache, { clock, logger }));
  // kiln:toolbar — the dev toolbar (per-request cache ops, SQL, templates; issue 5) and /metrics.
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
  const views = toolbar.watchViews(createViews({ dir: VIEWS_DIR, noCache: config.nodeEnv === 'development' }));
  views.env.addExtension('FragmentCache', new FragmentCacheExtension(cache));
  const site = { name: 'Kiln', url: config.siteUrl };
  const rendering = new PostRendering(logger);
  // Every invalidation also purges the shared HTTP caches in front of Kiln (HTTP_CACHE_PURGE_URLS; deploy/varnish/).
  const purger = config.httpCachePurgeUrls.length > 0 ? new HttpPurger({ urls: config.httpCachePurgeUrls, logger }) : undefined;
  if (purger) metrics.watchPurges(purger);
  if (purger && config.toolbar.enabled) purger.events.on('purge', (event: PurgeEvent) => toolbar.collector.recordCacheEvent(purgeOpEvent(event)));
  // Every post write records its tags in the outbox and invalidates (and purges) after commit (src/blog/writes.ts).
  const { posts, outbox } = wirePostWrites(deps.dataSource, { cache, purger, clock, logger, afterCommit: crashAfterCommit(config) });
  const pages = new BlogCache(cache, posts, rendering, pageFront(config, metrics), purger);
  app.context.render = async function render(this: Context, template: string, data: Record<string, unknown> = {}) {
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

  const loginCsrf = new LoginCsrf({ secret: config.sessionSecret, clock, secure: config.secureCookies });
  const loginAttempts = deps.loginAttempts ?? createLoginAttemptStore(config.session, { dataSource: deps.dataSource, clock, logger });
  const throttle = new LoginThrottle({ ...LOGIN_THROTTLE, store: loginAttempts, clock });
  const users = new UserService(deps.dataSource, { hasher: deps.passwords, logger });
  app.context.services = { posts, users, pages, rendering, outbox, loginThrottle: throttle };

  // First, before anything reads the client's address, scheme or host.
  app.use(forwardedHeaders(config.trustProxy));
  // Every other spelling of a path is a 404 here, so nothing below (the page front and cache keys,
  // the toolbar's asset guard, the static files, the author's area, the routers) ever sees one.
  app.use(canonicalPaths({ headers: SECURITY_HEADERS }));
  // kiln:page-front — readers' cached pages answered before the chain (issue 6; src/blog/web/page-front.ts).
  if (pages.front) app.use(pages.front.middleware);
  app.use(securityHeaders(config.siteUrl));
  app.use(httpMetrics(metrics));
  // Outside the error handler (error pages get the bar) and the page cache (stored pages never do).
  app.use(toolbar.middleware);
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
  app.use(csrfProtection({ siteUrl: config.siteUrl, login: loginCsrf }));
  // kiln:cache-wired — page caching, the sidebar fragment and memoized post HTML (src/blog/caching.ts).
  const routers = [
    pageRoutes({
      before: {
        index: [pages.page('index')],
        post: [pages.page('post')],
        category: [pages.page('category')],
        about: [pages.page('about')],
      },
    }),
    feedRoutes({ siteUrl: config.siteUrl, before: [pages.page('feed')] }),
    apiRoutes({ before: { list: [pages.page('apiList')], one: [pages.page('apiPost')] } }),
    authRoutes({ loginCsrf, throttle }),
    admin,
    metricsRoutes({ metrics, token: config.metricsToken }),
    healthRoutes({ cache, dataSource: deps.dataSource }),
  ];
  for (const router of routers) {
    assertCaseSensitive(router);
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
