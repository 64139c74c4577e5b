import { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { excerpt, renderMarkdown } from '../markdown.ts';
import { parseCategory, parseId, parsePage } from '../web/params.ts';
import { PER_PAGE } from './pages.ts';

/** Names of the JSON routes, for inserting middleware before a handler. */
export type ApiRouteName = 'list' | 'one';

/**
 * `GET /api/v1/posts?category=&page=`: published posts, newest first, 10 a page, as
 * `{ posts: [{ id, title, slug, category, createdAt, excerpt }], page, pages }`.
 */
export async function listPosts(ctx: Context): Promise<void> {
  const rawCategory = ctx.query.category;
  const category = rawCategory === undefined || rawCategory === '' ? undefined : typeof rawCategory === 'string' ? parseCategory(rawCategory) : null;
  const page = parsePage(ctx.query.page);
  if (category === null) ctx.throw(404, 'There is no such category.');
  if (page === null) ctx.throw(404, 'There is no such page.');
  const result = await ctx.services.posts.listPublished({ page, perPage: PER_PAGE, category });
  if (category !== undefined && result.total === 0) ctx.throw(404, 'There is no such category.');
  if (page > result.pages) ctx.throw(404, 'There is no such page.');
  ctx.body = {
    posts: result.posts.map((p) => ({
      id: p.id,
      title: p.title,
      slug: p.slug,
      category: p.category,
      createdAt: p.createdAt.toISOString(),
      excerpt: excerpt(p.body),
    })),
    page: result.page,
    pages: result.pages,
  };
}

/** `GET /api/v1/posts/:id`: one published post with its sanitized `html`. */
export async function onePost(ctx: Context): Promise<void> {
  const id = parseId(ctx.params.id);
  const post = id === null ? null : await ctx.services.posts.get(id);
  if (post === null) ctx.throw(404, 'There is no such post.');
  ctx.body = {
    id: post.id,
    title: post.title,
    slug: post.slug,
    category: post.category,
    createdAt: post.createdAt.toISOString(),
    updatedAt: post.updatedAt.toISOString(),
    excerpt: excerpt(post.body),
    html: renderMarkdown(post.body),
  };
}

/** The JSON API under /api/v1 (published posts only); `before` inserts middleware per route. */
export function apiRoutes(options: { before?: Partial<Record<ApiRouteName, Middleware[]>> } = {}): Router {
  const before = options.before ?? {};
  const router = new Router({ prefix: '/api/v1' });
  router.get('api-list', '/posts', ...(before.list ?? []), listPosts);
  router.get('api-one', '/posts/:id', ...(before.one ?? []), onePost);
  return router;
}
