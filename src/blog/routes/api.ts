import { createHash } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { makeKey } from '../../cache/index.ts';
import type { CachedRoute } from '../caching.ts';
import { MarkdownError, renderMarkdown } from '../markdown.ts';
import { POST_LIMITS } from '../services/posts.ts';
import { parseCategory, parseId, parsePage } from '../web/params.ts';
import { PER_PAGE } from './pages.ts';
import { createRouter } from './router.ts';

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
      excerpt: ctx.services.rendering.excerpt(p),
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
    excerpt: ctx.services.rendering.excerpt(post),
    html: await ctx.services.caching.postHtml(post),
  };
}

/** How long a preview stays cached: the editor asks again for every pause in typing. */
export const PREVIEW_TIMEOUT = 10 * 60;

/**
 * `POST /api/v1/preview` `{ "markdown": "…", "bypass": false }` → `{ "html" }`: the editor's live
 * preview, cached under the SHA-256 of the Markdown (so the text itself never shows in a key, a
 * log or the dev toolbar); `bypass: true` renders without the cache (`X-Cache: BYPASS`). Bad
 * bodies are 400 or 413 and never cached; so is Markdown that nests too deeply or that marked
 * cannot render (400, saying why).
 */
export async function previewPost(ctx: Context): Promise<void> {
  const body = ctx.request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) ctx.throw(400, 'Send a JSON object: { "markdown": "…" }.');
  const { markdown, bypass = false } = body as Record<string, unknown>;
  if (typeof markdown !== 'string') ctx.throw(400, '"markdown" must be a string.');
  if (typeof bypass !== 'boolean') ctx.throw(400, '"bypass" must be true or false.');
  if (markdown.length > POST_LIMITS.body) ctx.throw(413, `"markdown" is longer than ${POST_LIMITS.body} characters.`);
  if (bypass) {
    ctx.body = { html: previewHtml(ctx, markdown) };
    ctx.set('X-Cache', 'BYPASS');
    return;
  }
  let rendered = false;
  const html = await ctx.services.caching.cache.getOrSet(
    makeKey('preview', createHash('sha256').update(markdown).digest('hex')),
    () => {
      rendered = true;
      return previewHtml(ctx, markdown);
    },
    { timeout: PREVIEW_TIMEOUT },
  );
  ctx.set('X-Cache', rendered ? 'MISS' : 'HIT');
  ctx.body = { html };
}

/** The preview's HTML; Markdown that cannot be rendered is the client's to fix (400, saying why). */
function previewHtml(ctx: Context, markdown: string): string {
  try {
    return renderMarkdown(markdown);
  } catch (err) {
    if (err instanceof MarkdownError) ctx.throw(400, `"markdown" cannot be rendered: ${err.message}`);
    throw err;
  }
}

/** The JSON API under /api/v1 (published posts only); `cached` puts the reads behind their caching (`BlogCaching.page`). */
export function apiRoutes(options: { cached?: CachedRoute } = {}): Router {
  const cached: CachedRoute = options.cached ?? ((_name, handler) => handler);
  const router = createRouter('/api/v1');
  router.get('api-list', '/posts', cached('apiList', listPosts));
  router.get('api-one', '/posts/:id', cached('apiPost', onePost));
  router.post('api-preview', '/preview', previewPost);
  return router;
}
