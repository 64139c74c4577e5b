import type { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import type { Author } from '../services/users.ts';
import { newSessionToken } from './csrf.ts';
import { loginUrl } from './next-path.ts';
import { SESSION_MAX_AGE_MS } from './session.ts';

/**
 * Sets `ctx.state.author` (and the session's CSRF token) when the request carries a live author
 * session. Reading `ctx.session` never creates a stored session or a cookie for a reader: an
 * empty, unchanged koa-session is not committed.
 */
export function loadAuthor() {
  return async function loadAuthor(ctx: Context, next: Next): Promise<void> {
    const session = ctx.session;
    if (session && !session.isNew && typeof session.authorId === 'number' && typeof session.csrf === 'string') {
      // The account may have been removed, or its password changed, since the session began
      // (a session without a stamp predates stamps): then the session is void.
      const stamp = typeof session.credentials === 'string' ? session.credentials : '';
      const author = await ctx.services.users.forSession(session.authorId, stamp);
      if (author) {
        ctx.state.author = author;
        ctx.state.csrfToken = session.csrf;
      } else {
        ctx.session = null;
      }
    }
    await next();
  };
}

/**
 * Sends anonymous requests to the login form (303), which brings a page request back to its
 * address afterwards (`/login?next=/admin/posts/3/edit`); lets the author through.
 */
export async function requireAuthor(ctx: Context, next: Next): Promise<void> {
  if (!ctx.state.author) {
    ctx.status = 303;
    ctx.redirect(loginUrl(ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.url : undefined));
    return;
  }
  await next();
}

/**
 * Applies `requireAuthor`, before the body is read or the CSRF token checked, to every request
 * that the author's `router` would take, so an anonymous request for the author's area is a 303
 * to the login form. The router itself says which requests those are (`match`, on the same
 * `ctx.path` its dispatch reads), so the guard and the routes cannot disagree on a spelling; the
 * admin router's `use(requireAuthor)` layer makes that every path under its prefix.
 * `signedOutSaves` names the anonymous requests let through instead: the editor's saves, which
 * the CSRF check refuses and routes/kept-saves.ts keeps for after the login.
 */
export function authorArea(router: Router, options: { signedOutSaves?: (ctx: Context) => boolean } = {}) {
  const signedOutSave = options.signedOutSaves ?? (() => false);
  return async function authorArea(ctx: Context, next: Next): Promise<void> {
    // A save sent after the session ended goes on to the CSRF check, whose handler keeps it.
    if (router.match(ctx.path, ctx.method).path.length > 0 && (ctx.state.author || !signedOutSave(ctx))) {
      await requireAuthor(ctx, next);
      return;
    }
    await next();
  };
}

/**
 * Starts the author's session under a NEW id: koa-session's `regenerate()` destroys the stored
 * session of the old id (so a planted or stolen pre-login cookie is refused afterwards) and
 * saves the data under a fresh one (a pending save kept while signed out comes along). The
 * session remembers the account's credential stamp, so it ends when the password changes (see
 * `credentialStamp`). Also used after the author changes the password, to carry the current
 * session over with the new stamp, id and CSRF token.
 */
export async function signIn(ctx: Context, author: Author): Promise<void> {
  const session = ctx.session;
  if (!session) throw new Error('signIn: no session on this request (is the session middleware mounted?)');
  const stamp = await ctx.services.users.sessionStamp(author.id);
  if (stamp === null) throw new Error(`signIn: the account of "${author.username}" no longer exists`);
  session.credentials = stamp;
  session.authorId = author.id;
  session.username = author.username;
  session.csrf = newSessionToken();
  // A signed-out browser's session was shortened to keep a pending save; the author's is not.
  session.maxAge = SESSION_MAX_AGE_MS;
  await session.regenerate();
  ctx.state.author = author;
  ctx.state.csrfToken = session.csrf;
}

/** Ends the session: its stored row is destroyed and the cookie expired. */
export function signOut(ctx: Context): void {
  ctx.session = null;
  ctx.state.author = undefined;
  ctx.state.csrfToken = undefined;
}
