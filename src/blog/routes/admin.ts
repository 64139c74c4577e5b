import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { ConflictError, NotFoundError } from '../errors.ts';
import { SEARCH_MAX } from '../services/author-list.ts';
import { accountRoutes } from './account.ts';
import { POST_LIMITS, validatePostInput, type Post } from '../services/posts.ts';
import { requireAuthor } from '../web/auth.ts';
import { authorListUrl, parseAuthorListQuery } from '../web/author-list-params.ts';
import { formFields } from '../web/body.ts';
import { parseId } from '../web/params.ts';
import { createRouter } from './router.ts';

/** What the editor form shows. */
interface EditorView {
  post?: Post;
  values: Record<string, string>;
  errors?: Record<string, string>;
  version?: number;
  message?: string;
  /** The stored post when a save conflicted, shown for comparison. */
  saved?: Post;
}

async function renderEditor(ctx: Context, status: number, view: EditorView): Promise<void> {
  ctx.status = status;
  await ctx.render('admin/edit.njk', {
    title: view.post ? `Edit “${view.post.title}”` : 'New post',
    action: view.post ? `/admin/posts/${view.post.id}` : '/admin/posts',
    limits: POST_LIMITS,
    errors: {},
    ...view,
  });
  ctx.status = status;
}

function valuesOf(post: Post): Record<string, string> {
  return { title: post.title, body: post.body, category: post.category, published: post.published ? 'on' : '' };
}

async function loadPost(ctx: Context): Promise<Post> {
  const id = parseId(ctx.params.id);
  const post = id === null ? null : await ctx.services.posts.get(id, { includeDrafts: true });
  if (post === null) ctx.throw(404, 'There is no such post.');
  return post;
}

/**
 * `GET /admin?q=&status=&category=&page=`: the author's posts, drafts included, newest first, a
 * page at a time, searchable by title and filterable by status and category. Bad parameters are
 * ignored with a notice on the page (web/author-list-params.ts), never an error.
 */
export async function adminIndex(ctx: Context): Promise<void> {
  const { filter, notices } = parseAuthorListQuery(ctx.query);
  const [list, categories] = await Promise.all([ctx.services.posts.listForAuthor(filter), ctx.services.posts.categoriesForAuthor()]);
  if (list.page < filter.page) notices.push(`There is no page ${filter.page}; showing page ${list.page}, the last.`);
  const pageUrl = (page: number) => authorListUrl(filter, page);
  await ctx.render('admin/index.njk', {
    title: 'Your posts',
    list,
    filter,
    filtered: filter.search !== undefined || filter.status !== 'all' || filter.category !== undefined,
    categories,
    notices,
    searchMax: SEARCH_MAX,
    pages: {
      first: list.page > 1 ? pageUrl(1) : undefined,
      prev: list.page > 1 ? pageUrl(list.page - 1) : undefined,
      next: list.page < list.pages ? pageUrl(list.page + 1) : undefined,
      last: list.page < list.pages ? pageUrl(list.pages) : undefined,
    },
  });
}

/** `GET /admin/posts/new`: an empty editor. */
export async function newPostForm(ctx: Context): Promise<void> {
  await renderEditor(ctx, 200, { values: { title: '', body: '', category: '', published: 'on' } });
}

/** `POST /admin/posts`: creates a post, then 303 to it; invalid fields re-render the form (400). */
export async function createPost(ctx: Context): Promise<void> {
  const result = validatePostInput(formFields(ctx));
  if (!result.ok) {
    await renderEditor(ctx, 400, { values: result.values, errors: result.errors, message: 'Please correct the fields below.' });
    return;
  }
  // Resolves once the pages showing the new post are invalidated (PostService's write hook).
  const post = await ctx.services.posts.create(result.input);
  ctx.status = 303;
  ctx.redirect(`/posts/${post.id}`);
}

/** `GET /admin/posts/:id/edit`: the editor filled with the post and its version. */
export async function editPostForm(ctx: Context): Promise<void> {
  const post = await loadPost(ctx);
  await renderEditor(ctx, 200, { post, values: valuesOf(post), version: post.version });
}

/**
 * `POST /admin/posts/:id`: saves the edit if the post is still at the form's `version`, then
 * 303 to it; invalid fields re-render the form (400); a save made elsewhere in between is a 409
 * with the author's text kept and the stored version shown, never a silent overwrite.
 */
export async function updatePost(ctx: Context): Promise<void> {
  const post = await loadPost(ctx);
  const fields = formFields(ctx);
  const result = validatePostInput(fields);
  const version = /^[1-9][0-9]{0,9}$/.test(fields.version ?? '') ? Number(fields.version) : null;
  if (version === null) {
    const values = result.ok ? { ...result.input, published: result.input.published ? 'on' : '' } : result.values;
    await renderEditor(ctx, 400, { post, values, version: post.version, message: 'The form lost track of which version it edits. Check the text below and save again.' });
    return;
  }
  if (!result.ok) {
    await renderEditor(ctx, 400, { post, values: result.values, errors: result.errors, version, message: 'Please correct the fields below.' });
    return;
  }
  try {
    await ctx.services.posts.update(post.id, result.input, version);
  } catch (err) {
    if (err instanceof NotFoundError) ctx.throw(404, 'This post was deleted.');
    if (!(err instanceof ConflictError)) throw err;
    const saved = await ctx.services.posts.get(post.id, { includeDrafts: true });
    if (saved === null) ctx.throw(404, 'This post was deleted.');
    await renderEditor(ctx, 409, {
      post: saved,
      saved,
      values: { ...result.input, published: result.input.published ? 'on' : '' },
      // Submitting again, after seeing the other save below, deliberately replaces it.
      version: saved.version,
      message: `Not saved: this post was changed elsewhere while you were editing (it is now at version ${saved.version}). Your text is kept below, with the saved version underneath; save again to replace it with yours.`,
    });
    return;
  }
  ctx.status = 303;
  ctx.redirect(`/posts/${post.id}`);
}

/** `POST /admin/posts/:id/delete`: deletes the post, then 303 to /admin. */
export async function deletePost(ctx: Context): Promise<void> {
  const id = parseId(ctx.params.id);
  const removed = id === null ? null : await ctx.services.posts.remove(id);
  if (removed === null) ctx.throw(404, 'There is no such post.');
  ctx.status = 303;
  ctx.redirect('/admin');
}

/** Where the author's area lives. */
export const ADMIN_PREFIX = '/admin';

/**
 * The author's area: every path under {@link ADMIN_PREFIX} requires the signed-in author. The
 * app also mounts `authorArea(router)` (web/auth.ts), which applies the same rule earlier, before
 * the body is read or the CSRF token checked, to every request this router matches.
 */
export function adminRoutes(): Router {
  const router = createRouter(ADMIN_PREFIX);
  router.use(requireAuthor);
  router.get('admin', '/', adminIndex);
  router.get('admin-new', '/posts/new', newPostForm);
  router.post('admin-create', '/posts', createPost);
  router.get('admin-edit', '/posts/:id/edit', editPostForm);
  router.post('admin-update', '/posts/:id', updatePost);
  router.post('admin-delete', '/posts/:id/delete', deletePost);
  accountRoutes(router);
  return router;
}
