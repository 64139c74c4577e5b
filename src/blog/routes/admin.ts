import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { ConflictError, NotFoundError } from '../errors.ts';
import { SEARCH_MAX } from '../services/author-list.ts';
import { validatePostInput, type Post } from '../services/posts.ts';
import { accountRoutes } from './account.ts';
import { requireAuthor } from '../web/auth.ts';
import { authorListUrl, parseAuthorListQuery } from '../web/author-list-params.ts';
import { formFields } from '../web/body.ts';
import { setFlash } from '../web/flash.ts';
import { parseId } from '../web/params.ts';
import { takePendingSave } from '../web/pending-save.ts';
import { draftKey, keptValues, renderDeletedMeanwhile, renderEditor, valuesOf } from './editor.ts';
import { createRouter } from './router.ts';

async function loadPost(ctx: Context): Promise<Post> {
  const id = parseId(ctx.params.id);
  const post = id === null ? null : await ctx.services.posts.get(id, { includeDrafts: true });
  if (post === null) ctx.throw(404, 'There is no such post.');
  return post;
}

/** What the editor says above text the author submitted while signed out, now back in the form. */
const PENDING_MESSAGE = 'You were signed out before this was saved, so it is not saved yet. Your text is back below: check it and save.';

/** A version number as the form sends it. */
const VERSION = /^[1-9][0-9]{0,9}$/;

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

/** `GET /admin/posts/new`: an empty editor, or the new post this browser submitted while signed out. */
export async function newPostForm(ctx: Context): Promise<void> {
  const pending = takePendingSave(ctx, null);
  if (pending) {
    await renderEditor(ctx, 200, { values: keptValues(pending.fields), unsaved: true, message: PENDING_MESSAGE });
    return;
  }
  await renderEditor(ctx, 200, { values: { title: '', body: '', category: '', published: 'on' } });
}

/** `POST /admin/posts`: creates a post, then 303 to it with a flash; invalid fields re-render the form (400). */
export async function createPost(ctx: Context): Promise<void> {
  const fields = formFields(ctx);
  const result = validatePostInput(fields);
  if (!result.ok) {
    const values = { ...result.values, draft: fields.draft ?? '' };
    await renderEditor(ctx, 400, { values, errors: result.errors, unsaved: true, message: 'Not saved yet: please correct the fields marked below.' });
    return;
  }
  // Resolves once the pages showing the new post are invalidated (PostService's write hook).
  const post = await ctx.services.posts.create(result.input);
  const text = post.published ? `Published “${post.title}”.` : `Saved “${post.title}” as a draft: only you can see it.`;
  setFlash(ctx, { text, draft: draftKey(undefined, fields) || undefined });
  ctx.status = 303;
  ctx.redirect(`/posts/${post.id}`);
}

/** `GET /admin/posts/:id/edit`: the editor filled with the post and its version, or with this browser's pending save of it. */
export async function editPostForm(ctx: Context): Promise<void> {
  const id = parseId(ctx.params.id);
  const pending = id === null ? undefined : takePendingSave(ctx, id);
  const post = id === null ? null : await ctx.services.posts.get(id, { includeDrafts: true });
  if (post === null) {
    if (pending) return renderDeletedMeanwhile(ctx, pending.fields);
    ctx.throw(404, 'There is no such post.');
  }
  if (pending) {
    // The version it was written against: a save made elsewhere since then makes this one a 409.
    const version = VERSION.test(pending.fields.version ?? '') ? pending.fields.version : post.version;
    await renderEditor(ctx, 200, { post, values: keptValues(pending.fields), version, unsaved: true, message: PENDING_MESSAGE });
    return;
  }
  await renderEditor(ctx, 200, { post, values: valuesOf(post), version: post.version });
}

/**
 * `POST /admin/posts/:id`: saves the edit if the post is still at the form's `version`, then
 * 303 to it with a flash; invalid fields re-render the form (400); a save made elsewhere in
 * between is a 409 with the author's text kept and the stored version shown, never a silent
 * overwrite; a post deleted meanwhile offers the text as a new post (404).
 */
export async function updatePost(ctx: Context): Promise<void> {
  const id = parseId(ctx.params.id);
  if (id === null) ctx.throw(404, 'There is no such post.');
  const fields = formFields(ctx);
  const post = await ctx.services.posts.get(id, { includeDrafts: true });
  if (post === null) return renderDeletedMeanwhile(ctx, fields);
  const result = validatePostInput(fields);
  const version = VERSION.test(fields.version ?? '') ? Number(fields.version) : null;
  if (version === null) {
    const values = result.ok ? { ...result.input, published: result.input.published ? 'on' : '' } : result.values;
    await renderEditor(ctx, 400, { post, values, version: post.version, unsaved: true, message: 'The form lost track of which version it edits. Check the text below and save again.' });
    return;
  }
  if (!result.ok) {
    await renderEditor(ctx, 400, { post, values: result.values, errors: result.errors, version, unsaved: true, message: 'Not saved yet: please correct the fields marked below.' });
    return;
  }
  let saved: { before: Post; after: Post };
  try {
    saved = await ctx.services.posts.update(post.id, result.input, version);
  } catch (err) {
    if (err instanceof NotFoundError) return renderDeletedMeanwhile(ctx, fields);
    if (!(err instanceof ConflictError)) throw err;
    const stored = await ctx.services.posts.get(post.id, { includeDrafts: true });
    if (stored === null) return renderDeletedMeanwhile(ctx, fields);
    await renderEditor(ctx, 409, {
      post: stored,
      saved: stored,
      values: { ...result.input, published: result.input.published ? 'on' : '' },
      // Submitting again, after seeing the other save below, deliberately replaces it.
      version: stored.version,
      unsaved: true,
      message: `Not saved: this post was changed elsewhere while you were editing (it is now at version ${stored.version}). Your text is kept below, with the saved version underneath; save again to replace it with yours.`,
    });
    return;
  }
  setFlash(ctx, { text: savedMessage(saved.before, saved.after), draft: draftKey(post, fields) });
  ctx.status = 303;
  ctx.redirect(`/posts/${post.id}`);
}

/** What the flash says after an edit: a publish and an unpublish are named as such. */
function savedMessage(before: Post, after: Post): string {
  if (after.published && !before.published) return `Published “${after.title}”.`;
  if (!after.published && before.published) return `Unpublished “${after.title}”: readers no longer see it.`;
  return `Saved “${after.title}”.`;
}

/** `GET /admin/posts/:id/delete`: asks whether to delete the post (a form that deletes it, or a way back). */
export async function deleteConfirmation(ctx: Context): Promise<void> {
  const post = await loadPost(ctx);
  await ctx.render('admin/delete.njk', { title: `Delete “${post.title}”?`, post });
}

/**
 * `POST /admin/posts/:id/delete`: with `confirm=yes` (the confirmation page's button) deletes the
 * post, then 303 to /admin with a flash; without it, shows the confirmation page, so no single
 * click deletes.
 */
export async function deletePost(ctx: Context): Promise<void> {
  if (formFields(ctx).confirm !== 'yes') {
    await deleteConfirmation(ctx);
    return;
  }
  const id = parseId(ctx.params.id);
  const removed = id === null ? null : await ctx.services.posts.remove(id);
  if (removed === null) ctx.throw(404, 'There is no such post: it may have been deleted already.');
  setFlash(ctx, { text: `Deleted “${removed.title}”.`, draft: `post:${removed.id}` });
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
  router.get('admin-delete-confirm', '/posts/:id/delete', deleteConfirmation);
  router.post('admin-delete', '/posts/:id/delete', deletePost);
  accountRoutes(router);
  return router;
}
