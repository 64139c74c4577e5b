import type { Context, Middleware } from 'koa';
import type { Cache } from '../cache/cache.ts';
import { createPageCache, type PageCache } from '../cache/koa/page-cache/page-cache.ts';
import type { MemoizedFunction } from '../cache/memoize.ts';
import type { Seconds } from '../cache/types.ts';
import { renderMarkdown } from './markdown.ts';
import type { Logger } from './seed.ts';
import type { Post, PostService } from './services/posts.ts';
import { logServerError } from './web/errors.ts';
import { carriesSessionCookie } from './web/session.ts';

/** The cached pages of the blog. */
export type CachedPage = 'index' | 'post' | 'category' | 'about' | 'feed' | 'apiList' | 'apiPost';

/** Wraps a page's handler in the page's caching; what the route factories take (`pageRoutes({ cached })`). */
export type CachedRoute = (name: CachedPage, handler: Middleware) => Middleware;

/** Options of {@link BlogCache}. */
export interface BlogCacheOptions {
  /** Where a failed background render of a page is logged (default: the app's `error` event). */
  logger?: Logger;
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

/** How long the sidebar fragment and its data stay cached. */
export const SIDEBAR_TIMEOUT: Seconds = 20 * 60;

/**
 * What each cached thing depends on. Invalidating a tag makes every entry carrying it a miss on
 * every backend, with no key scan:
 * - `lists`: every listing of posts (index pages, category pages, the feed, the JSON list);
 * - `post-pages` and `post:<id>`: the post pages (HTML and JSON), all or one;
 * - `sidebar`: the sidebar fragment and its data, and every HTML page that embeds it.
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

/** Identifies one version of a post's body for the memoized Markdown rendering. */
interface BodyVersion {
  cacheId: string;
  body: string;
}

/** The blog's use of the cache: which pages are cached, for how long, and what invalidates them. */
export class BlogCache {
  /** The sidebar's data, memoized and tagged `sidebar`. */
  readonly sidebar: MemoizedFunction<[], Promise<Sidebar>>;
  /**
   * The cached pages, and those prepared for early answers (src/app.ts hands them to the request
   * frame): a request without a session cookie cannot be the author's, so it may get a page
   * before sessions, CSRF and routing run.
   */
  readonly pageCache: PageCache;
  private readonly bodyHtml: MemoizedFunction<[BodyVersion], string>;
  private readonly logger: Logger | undefined;

  constructor(
    readonly cache: Cache,
    private readonly posts: PostService,
    options: BlogCacheOptions = {},
  ) {
    this.pageCache = createPageCache({ cache, earlyAnswers: { eligible: (ctx) => !carriesSessionCookie(ctx) } });
    this.logger = options.logger;
    this.sidebar = cache.memoize(() => loadSidebar(posts), { name: 'sidebar', timeout: SIDEBAR_TIMEOUT, tags: [TAGS.sidebar] });
    this.bodyHtml = cache.memoize((version: BodyVersion) => renderMarkdown(version.body), {
      name: 'postHtml',
      timeout: PAGE_TIMEOUTS.post,
    });
  }

  /**
   * A post's body as sanitized HTML, memoized by post id, version and update time. A draft is
   * rendered without the cache: only the author sees it, and its text stays out of the shared store.
   */
  postHtml(post: Post): Promise<string> {
    if (!post.published) return Promise.resolve(renderMarkdown(post.body));
    return this.bodyHtml({ cacheId: `${post.id}@${post.version}@${post.updatedAt.getTime()}`, body: post.body });
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

  /**
   * Invalidates everything that shows a post after it was created (`before` null), edited, or
   * deleted (`after` null): its pages, every listing (all index and category pages, old and new
   * category, feed, JSON lists) and, when the sidebar's content changed, the sidebar and every
   * page embedding it. Resolves once done, so the author's response is sent only after it.
   */
  async postChanged(before: Post | null, after: Post | null, sidebarBefore: Sidebar): Promise<void> {
    const ids = new Set([before?.id, after?.id].filter((id): id is number => id !== undefined));
    const tags: string[] = [TAGS.lists, ...Array.from(ids, TAGS.post)];
    if (JSON.stringify(await loadSidebar(this.posts)) !== JSON.stringify(sidebarBefore)) tags.push(TAGS.sidebar);
    await this.cache.invalidateTags(tags);
  }

  /** The sidebar as stored now, read before a write so `postChanged` can tell what changed. */
  sidebarNow(): Promise<Sidebar> {
    return loadSidebar(this.posts);
  }

  /** Login and logout: the index and post pages are rebuilt (as the Flask blog does). */
  async sessionChanged(): Promise<void> {
    await this.cache.invalidateTags([TAGS.lists, TAGS.postPages]);
  }
}

async function loadSidebar(posts: PostService): Promise<Sidebar> {
  const [categories, latest] = await Promise.all([posts.categories(), posts.latest(5)]);
  return { categories, latest: latest.map((p) => ({ id: p.id, title: p.title })) };
}
