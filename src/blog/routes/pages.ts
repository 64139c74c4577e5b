import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { CachedRoute } from '../caching.ts';
import { parseCategory, parseId, parsePage } from '../web/params.ts';
import { createRouter } from './router.ts';
import { loadSidebar, paginate, summarize } from './views-data.ts';

/** Posts per page on the index and category pages. */
export const PER_PAGE = 10;

/** `GET /`: the newest published posts, paged with `?page=N` (past the end: 404). */
export async function indexPage(ctx: Context): Promise<void> {
  const page = parsePage(ctx.query.page);
  if (page === null) ctx.throw(404, 'There is no such page.');
  const result = await ctx.services.posts.listPublished({ page, perPage: PER_PAGE });
  if (page > result.pages) ctx.throw(404, 'There is no such page.');
  await ctx.render('pages/index.njk', {
    title: page > 1 ? `Page ${page}` : undefined,
    posts: result.posts.map((post) => summarize(post, ctx.services.rendering)),
    pagination: paginate(result, '/'),
    sidebar: await loadSidebar(ctx),
  });
}

/** `GET /posts/:id`: one post rendered from Markdown; a draft only for the author. */
export async function postPage(ctx: Context): Promise<void> {
  const id = parseId(ctx.params.id);
  const post = id === null ? null : await ctx.services.posts.get(id, { includeDrafts: Boolean(ctx.state.author) });
  if (post === null) ctx.throw(404, 'There is no such post.');
  await ctx.render('pages/post.njk', {
    title: post.title,
    post,
    html: await ctx.services.caching.postHtml(post),
    sidebar: await loadSidebar(ctx),
  });
}

/** `GET /category/:name`: a category's published posts, paged like the index. */
export async function categoryPage(ctx: Context): Promise<void> {
  const category = parseCategory(ctx.params.name);
  const page = parsePage(ctx.query.page);
  if (category === null || page === null) ctx.throw(404, 'There is no such category page.');
  const result = await ctx.services.posts.listPublished({ page, perPage: PER_PAGE, category });
  if (result.total === 0) ctx.throw(404, 'There is no such category.');
  if (page > result.pages) ctx.throw(404, 'There is no such page.');
  await ctx.render('pages/category.njk', {
    title: page > 1 ? `${category} · page ${page}` : category,
    category,
    posts: result.posts.map((post) => summarize(post, ctx.services.rendering)),
    pagination: paginate(result, `/category/${category}`),
    sidebar: await loadSidebar(ctx),
  });
}

/** `GET /about`: what this blog is. */
export async function aboutPage(ctx: Context): Promise<void> {
  await ctx.render('pages/about.njk', { title: 'About', sidebar: await loadSidebar(ctx) });
}

/** The reader pages; `cached` puts each handler behind its caching (`BlogCaching.page`), default none. */
export function pageRoutes(options: { cached?: CachedRoute } = {}): Router {
  const cached: CachedRoute = options.cached ?? ((_name, handler) => handler);
  const router = createRouter();
  router.get('index', '/', cached('index', indexPage));
  router.get('post', '/posts/:id', cached('post', postPage));
  router.get('category', '/category/:name', cached('category', categoryPage));
  router.get('about', '/about', cached('about', aboutPage));
  return router;
}
