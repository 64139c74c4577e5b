import type { Context, Middleware } from 'koa';
import type { Cache, HttpPurger, MemoizedFunction, Seconds } from '../cache/index.ts';
import { createPageCache, type PageCache } from '../cache/koa/index.ts';
import type { Logger } from '../log.ts';
import { MARKDOWN_RENDERER_VERSION } from './markdown.ts';
import type { PostRendering } from './post-rendering.ts';
import type { Post, PostChange, PostFacts, PostService } from './services/posts.ts';
import { logServerError } from './web/errors.ts';
import { carriesSessionCookie } from './web/session.ts';

/** The cached pages of the blog. */
export type CachedPage = 'index' | 'post' | 'category' | 'about' | 'feed' | 'apiList' | 'apiPost';

/** Wraps a page's handler in the page's caching; what the route factories take (`pageRoutes({ cached })`). */
export type CachedRoute = (name: CachedPage, handler: Middleware) => Middleware;

/** Options of {@link BlogCaching}. */
export interface BlogCachingOptions {
  /** Where a failed background render of a page is logged (default: the app's `error` event). */
  logger?: Logger;
  /** The shared HTTP caches in front of Kiln (HTTP_CACHE_PURGE_URLS), purged with every invalidation. */
  purger?: Pick<HttpPurger, 'purge' | 'close'>;
}

/** How long each page stays cached (the Flask blog's figures: index 20 min, posts 30 min, about 2 h). */
export const PAGE_TIMEOUTS: Readonly<Record<CachedPage, Seconds>> = {
  index: 20 * 60,
  post: 30 * 60,
  category: 20 * 60,
  about: 2 * 60 * 60,
  feed: 20 * 60,
  apiList: 20 * 60,
  apiPost: 30 * 60,
};

/** How long the sidebar's data stays cached. */
export const SIDEBAR_TIMEOUT: Seconds = 20 * 60;

/**
 * What each cached thing depends on. Invalidating a tag makes every entry carrying it a miss on
 * every backend, with no key scan:
 * - `lists`: every listing of posts (index pages, category pages, the feed, the JSON list);
 * - `post-pages` and `post:<id>`: the post pages (HTML and JSON), all or one;
 * - `sidebar`: the sidebar's data, and every HTML page that embeds it.
 */
export const TAGS = {
  lists: 'lists',
  postPages: 'post-pages',
  sidebar: 'sidebar',
  post: (id: number | string) => `post:${id}`,
} as const;

const PAGE_TAGS: Readonly<Record<CachedPage, (ctx: Context) => string[]>> = {
  index: () => [TAGS.lists, TAGS.sidebar],
  category: () => [TAGS.lists, TAGS.sidebar],
  feed: () => [TAGS.lists],
  apiList: () => [TAGS.lists],
  post: (ctx) => [TAGS.postPages, TAGS.post(String(ctx.params.id)), TAGS.sidebar],
  apiPost: (ctx) => [TAGS.postPages, TAGS.post(String(ctx.params.id))],
  about: () => [TAGS.sidebar],
};

// The query parameters each page reads: only these are in its key (canonically), any other is
// dropped, so junk queries cannot store one page under many keys. Pages not listed read no query
// and bypass the cache when a query string is present.
const READS_QUERY: Readonly<Partial<Record<CachedPage, readonly string[]>>> = {
  index: ['page'],
  category: ['page'],
  apiList: ['page', 'category'],
};

/** The sidebar's data: categories of published posts with counts, and the 5 latest posts. */
export interface Sidebar {
  categories: { name: string; count: number }[];
  latest: { id: number; title: string }[];
}

/** Identifies one version of a post's body for the memoized Markdown rendering (keyed by `cacheId` alone). */
interface BodyVersion {
  cacheId: string;
  post: Post;
}

/** The blog's use of the cache: which pages are cached, for how long, and what invalidates them. */
export class BlogCaching {
  /**
   * The sidebar's data, memoized and tagged `sidebar`: the one place the sidebar is cached besides
   * the pages that embed it (each tagged `sidebar` too). A page miss then costs one lookup instead
   * of the sidebar's two queries, and rendering its dozen links costs less than a second cached
   * copy of their HTML (a fragment) would, which would also be one more thing to invalidate.
   */
  readonly sidebar: MemoizedFunction<[], Promise<Sidebar>>;
  /**
   * The cached pages, and those prepared for early answers (src/app.ts hands them to the request
   * frame): a request without a session cookie cannot be the author's, so it may get a page
   * before sessions, CSRF and routing run.
   */
  readonly pageCache: PageCache;
  private readonly bodyHtml: MemoizedFunction<[BodyVersion], string>;
  private readonly logger: Logger | undefined;
  private readonly purger: Pick<HttpPurger, 'purge' | 'close'> | undefined;

  constructor(
    readonly cache: Cache,
    private readonly posts: PostService,
    /** Renders post bodies; one that cannot be rendered becomes a notice, memoized like any page. */
    private readonly rendering: PostRendering,
    options: BlogCachingOptions = {},
  ) {
    this.pageCache = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => !carriesSessionCookie(ctx) } });
    this.logger = options.logger;
    this.purger = options.purger;
    this.sidebar = cache.memoize(() => loadSidebar(posts), { name: 'sidebar', timeout: SIDEBAR_TIMEOUT, tags: [TAGS.sidebar] });
    this.bodyHtml = cache.memoize((version: BodyVersion) => rendering.html(version.post), {
      name: 'postHtml',
      timeout: PAGE_TIMEOUTS.post,
    });
  }

  /**
   * A post's body as sanitized HTML, memoized by post id, version, update time and renderer version. A draft is
   * rendered without the cache: only the author sees it, and its text stays out of the shared store.
   */
  postHtml(post: Post): Promise<string> {
    if (!post.published) return Promise.resolve(this.rendering.html(post));
    // The renderer's version is part of the key: HTML memoized by an older renderer is never served.
    return this.bodyHtml({ cacheId: `${post.id}@${post.version}@${post.updatedAt.getTime()}@r${MARKDOWN_RENDERER_VERSION}`, post });
  }

  /** One page's handler behind its caching: anonymous readers only, the author always bypasses. */
  page(name: CachedPage, handler: Middleware): Middleware {
    const { logger } = this;
    return this.pageCache.view({
      keyPrefix: `page:${name}`,
      timeout: PAGE_TIMEOUTS[name],
      queryString: READS_QUERY[name] ?? false,
      unless: (ctx) => ctx.state.author !== undefined,
      tags: PAGE_TAGS[name],
      clock: this.cache.clock,
      render: handler,
      onRevalidationError: logger && ((error, ctx) => logServerError(logger, ctx, error)),
    });
  }

  /** Login and logout: the index and post pages are rebuilt (as the Flask blog does). */
  async sessionChanged(): Promise<void> {
    await this.invalidate([TAGS.lists, TAGS.postPages]);
  }

  /** Stops the purges still waiting to be retried or repeated (shutdown). */
  close(): void {
    this.purger?.close();
  }

  /**
   * Invalidates `tags` in Kiln's cache, then purges them from the shared HTTP caches: in that
   * order, so a shared cache refilling at once gets the new page. A purge never fails the write
   * (failures are retried in the background and counted).
   */
  private async invalidate(tags: readonly string[]): Promise<void> {
    await this.cache.invalidateTags(tags);
    await this.purger?.purge(tags);
  }
}

async function loadSidebar(posts: PostService): Promise<Sidebar> {
  const [categories, latest] = await Promise.all([posts.categories(), posts.latest(5)]);
  return { categories, latest: latest.map((p) => ({ id: p.id, title: p.title })) };
}

/** Above this many posts in one write (an import batch), their pages are invalidated as one tag, `post-pages`. */
export const MANY_POSTS = 50;

/**
 * The tags a write's changes make stale: the pages of each post (`post:<id>`; `post-pages` for
 * more than {@link MANY_POSTS}), every listing (`lists`) when a published post is involved
 * (created, changed, published, unpublished or deleted), and `sidebar` only when the sidebar's
 * content can have changed. A draft that stays a draft appears on no reader page but its own.
 * Injected into PostService (src/blog/writes.ts), so writes never decide their tags themselves.
 */
export function postChangeTags(changes: readonly PostChange[]): string[] {
  const tags = new Set<string>();
  const ids = new Set<number>();
  for (const { id, before, after } of changes) {
    if (id !== null) ids.add(id);
    if (!before?.published && !after?.published) continue;
    tags.add(TAGS.lists);
    if (sidebarMayChange(before, after)) tags.add(TAGS.sidebar);
  }
  if (ids.size > MANY_POSTS) tags.add(TAGS.postPages);
  else for (const id of ids) tags.add(TAGS.post(id));
  return [...tags];
}

/**
 * Whether the sidebar (categories of published posts with counts, the 5 latest published titles)
 * can differ after a change: the published set changed, or a published post's title, category
 * or date (its place among the latest) did.
 */
function sidebarMayChange(before: PostFacts | null, after: PostFacts | null): boolean {
  if (!before?.published || !after?.published) return true;
  return before.title !== after.title || before.category !== after.category || before.createdAt.getTime() !== after.createdAt.getTime();
}
