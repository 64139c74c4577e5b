import type { Context } from 'koa';
import { MarkdownError, renderMarkdown } from '../markdown.ts';
import { POST_LIMITS, type Post } from '../services/posts.ts';

/** What the editor form shows. */
export interface EditorView {
  /** The post being edited; absent for a new post (the form then creates one). */
  post?: Post;
  values: Record<string, string>;
  errors?: Record<string, string>;
  /** The version the form edits, sent back with the save (a stale one makes the save a 409). */
  version?: number | string;
  message?: string;
  /** The stored post when a save conflicted, shown for comparison. */
  saved?: Post;
  /**
   * The form holds text that is not saved (a refused save shown again): the editor's script
   * warns before leaving at once, and keeps the text in the browser.
   */
  unsaved?: boolean;
}

/** The rule a category follows, shown beside the field and checked as the author types. */
export const CATEGORY_HINT = 'Lowercase letters, digits and single dashes, e.g. web-dev.';

/** The pattern attribute of the category field: the same rule as validatePostInput's. */
export const CATEGORY_PATTERN = '[a-z0-9]+(-[a-z0-9]+)*';

/** Form fields in the order the form shows them: the first with an error gets the focus. */
const FIELD_ORDER = ['title', 'category', 'body'] as const;

/** Names a browser-stored draft of a new post: what the editor's script sends in `draft`. */
const DRAFT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** Renders the editor (views/admin/edit.njk) with `status`, a preview of its body and the known categories. */
export async function renderEditor(ctx: Context, status: number, view: EditorView): Promise<void> {
  const errors = view.errors ?? {};
  ctx.status = status;
  await ctx.render('admin/edit.njk', {
    title: view.post ? `Edit “${view.post.title}”` : 'New post',
    action: view.post ? `/admin/posts/${view.post.id}` : '/admin/posts',
    limits: POST_LIMITS,
    categoryHint: CATEGORY_HINT,
    categoryPattern: CATEGORY_PATTERN,
    categories: await ctx.services.posts.categoryNames(),
    preview: preview(view.values.body ?? ''),
    draftKey: draftKey(view.post, view.values),
    firstError: FIELD_ORDER.find((name) => errors[name] !== undefined),
    ...view,
    errors,
  });
  ctx.status = status;
}

/** The form values of a stored post. */
export function valuesOf(post: Post): Record<string, string> {
  return { title: post.title, body: post.body, category: post.category, published: post.published ? 'on' : '' };
}

/** Submitted fields as the form shows them again, exactly as typed (nothing trimmed or dropped). */
export function keptValues(fields: Record<string, string>): Record<string, string> {
  const published = ['on', '1', 'true'].includes(fields.published ?? '');
  return { title: fields.title ?? '', body: fields.body ?? '', category: fields.category ?? '', published: published ? 'on' : '', draft: fields.draft ?? '' };
}

/**
 * The browser-storage key of the form's draft (static/js/editor.js): `post:<id>` for a post,
 * `new:<id>` for a new one (the script names it and sends it back in `draft`), '' when the
 * script is still to name it.
 */
export function draftKey(post: Post | undefined, fields: Record<string, string>): string {
  if (post) return `post:${post.id}`;
  return DRAFT_ID.test(fields.draft ?? '') ? `new:${fields.draft}` : '';
}

/**
 * The editor for a post deleted while the author was editing it: their text as a new post (a
 * 404: the post they were editing is gone, and saving creates another).
 */
export async function renderDeletedMeanwhile(ctx: Context, fields: Record<string, string>): Promise<void> {
  await renderEditor(ctx, 404, {
    values: keptValues(fields),
    unsaved: true,
    message: 'This post was deleted while you were editing it, so your changes were not saved. Your text is kept below: Save creates it as a new post.',
  });
}

/** The body as readers will see it, or why it cannot be rendered (the preview API's rule). */
function preview(body: string): { html?: string; error?: string } {
  try {
    return { html: renderMarkdown(body) };
  } catch (err) {
    if (err instanceof MarkdownError) return { error: `This text cannot be rendered: ${err.message}` };
    throw err;
  }
}
