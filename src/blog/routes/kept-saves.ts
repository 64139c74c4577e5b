import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { formFields } from '../web/body.ts';
import type { StaleFormHandler } from '../web/csrf.ts';
import { loginUrl } from '../web/next-path.ts';
import { keepPendingSave } from '../web/pending-save.ts';
import { parseId } from '../web/params.ts';
import type { LoginThrottle } from '../web/throttle.ts';
import { renderDeletedMeanwhile, renderEditor, keptValues } from './editor.ts';

/** The editor's save routes (routes/admin.ts), by the names the admin router gives them. */
const SAVE_ROUTES = new Set(['admin-create', 'admin-update']);

/** The shape of an author session's CSRF token (web/csrf.ts `newSessionToken`). */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Which post a request saves through the admin router: `{ postId: null }` for a new one; undefined when it is no save. */
export function saveTarget(admin: Router, ctx: Context): { postId: number | null } | undefined {
  if (ctx.method !== 'POST') return undefined;
  // The router itself says what a save is, on the same path its dispatch reads.
  for (const layer of admin.match(ctx.path, 'POST').pathAndMethod) {
    if (typeof layer.name !== 'string' || !SAVE_ROUTES.has(layer.name)) continue;
    if (layer.name === 'admin-create') return { postId: null };
    const id = parseId(layer.params(ctx.path, layer.captures(ctx.path)).id);
    return id === null ? undefined : { postId: id };
  }
  return undefined;
}

/**
 * Keeps the author's text when a save from the editor comes without a valid token (the CSRF
 * check has already refused anything cross-origin):
 * - **signed out** (the session expired, or ended in another tab): the text is kept in this
 *   browser's session, server-side and tied to its cookie, and the browser goes to the login
 *   form (`/login?next=<the editor>`); signed in again, the author finds it in the editor, ready
 *   to save. Nothing is saved without the author seeing it, so a forged submission could only
 *   fill a form; each one counts against the login throttle, which bounds what a client can
 *   make the server keep. In both cases the form's (stale) token must be there: a save
 *   that never came from the editor is refused (403).
 * - **signed in with a stale token** (the author signed in again since the form was opened):
 *   the editor is shown again with the text and a fresh token (403), to save again.
 */
export function keptSaves(admin: Router, throttle: LoginThrottle): StaleFormHandler {
  return async function keptSaves(ctx: Context): Promise<boolean> {
    const target = saveTarget(admin, ctx);
    if (target === undefined) return false;
    const fields = formFields(ctx);
    // A stale token still has a token's shape; a save without one never came from the editor.
    if (!SESSION_TOKEN.test(fields._csrf ?? ctx.get('X-CSRF-Token'))) return false;
    if (ctx.state.author) {
      await renderStaleEditor(ctx, target.postId, fields);
      return true;
    }
    const verdict = await throttle.attempt(ctx.ip);
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      ctx.status = 429;
      // Not kept, but not lost either: this page shows it to copy.
      await ctx.render('pages/not-kept.njk', { title: 'Not saved', values: keptValues(fields) });
      ctx.status = 429;
      return true;
    }
    keepPendingSave(ctx, target.postId, fields);
    ctx.status = 303;
    ctx.redirect(loginUrl(target.postId === null ? '/admin/posts/new' : `/admin/posts/${target.postId}/edit`));
    return true;
  };
}

async function renderStaleEditor(ctx: Context, postId: number | null, fields: Record<string, string>): Promise<void> {
  const post = postId === null ? null : await ctx.services.posts.get(postId, { includeDrafts: true });
  if (postId !== null && post === null) return renderDeletedMeanwhile(ctx, fields);
  await renderEditor(ctx, 403, {
    post: post ?? undefined,
    values: keptValues(fields),
    version: fields.version,
    unsaved: true,
    message: 'Not saved yet: this form was opened before you last signed in, so it had expired. Your text is kept below: save again.',
  });
}
