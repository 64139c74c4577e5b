import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { formFields } from '../web/body.ts';
import type { LoginCsrf, StaleFormHandler } from '../web/csrf.ts';
import { signIn, signOut } from '../web/auth.ts';
import { setFlash } from '../web/flash.ts';
import { safeNextPath } from '../web/next-path.ts';
import { peekPendingSave, pendingEditorPath } from '../web/pending-save.ts';
import type { LoginThrottle } from '../web/throttle.ts';
import { createRouter } from './router.ts';

/** What the login routes need besides the services. */
export interface AuthRouteDeps {
  loginCsrf: LoginCsrf;
  throttle: LoginThrottle;
}

const FIELD_MAX = 200;

/** What the login form shows besides its fields. */
interface LoginView {
  error?: string;
  username?: string;
  /** Where to go once signed in (a safe path, web/next-path.ts). */
  next?: string;
}

async function renderLogin(ctx: Context, deps: AuthRouteDeps, status: number, view: LoginView = {}): Promise<void> {
  ctx.status = status;
  ctx.state.csrfToken = deps.loginCsrf.issue(ctx);
  await ctx.render('pages/login.njk', {
    title: 'Log in',
    error: view.error,
    username: view.username ?? '',
    next: view.next,
    // Only that something waits, never its text: whoever sits at this browser has not signed in yet.
    pending: peekPendingSave(ctx) !== undefined,
  });
  ctx.status = status;
}

/** Where the author goes once signed in: the page that asked, else the editor of a pending save, else /admin. */
function afterSignIn(ctx: Context, next: string | undefined): string {
  const pending = peekPendingSave(ctx);
  return next ?? (pending ? pendingEditorPath(pending) : '/admin');
}

/** The login form and the logout action. */
export function authRoutes(deps: AuthRouteDeps): Router {
  const router = createRouter();

  // The form carries a token tied to a cookie set here, not to a browsing session.
  router.get('login', '/login', async (ctx) => {
    await renderLogin(ctx, deps, 200, { next: safeNextPath(ctx.query.next) });
  });

  // CSRF (token + Origin) was checked by the middleware before this handler runs. The attempt
  // is counted before the password is looked at, so parallel guesses cannot pass the limit.
  router.post('login-submit', '/login', async (ctx) => {
    const { username = '', password = '', next: rawNext } = formFields(ctx);
    const next = safeNextPath(rawNext);
    const verdict = await deps.throttle.attempt(ctx.ip);
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
      await renderLogin(ctx, deps, 429, { error: `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, next });
      return;
    }
    const author =
      username !== '' && password !== '' && username.length <= FIELD_MAX && password.length <= FIELD_MAX
        ? await ctx.services.users.verify(username, password)
        : null;
    if (author === null) {
      await renderLogin(ctx, deps, 401, { error: 'Wrong username or password.', username: username.slice(0, FIELD_MAX), next });
      return;
    }
    await deps.throttle.succeeded(ctx.ip);
    await signIn(ctx, author);
    await ctx.services.caching.sessionChanged();
    deps.loginCsrf.clear(ctx);
    ctx.status = 303;
    ctx.redirect(afterSignIn(ctx, next));
  });

  router.post('logout', '/logout', async (ctx) => {
    signOut(ctx);
    await ctx.services.caching.sessionChanged();
    ctx.status = 303;
    ctx.redirect('/');
  });

  return router;
}

/**
 * Answers the login and logout forms that a tab kept while things changed elsewhere, instead of
 * a dead-end 403 (web/csrf.ts `staleForms`; cross-origin requests never get here):
 * - a login form whose token no longer matches (another tab signed in, or it is over an hour
 *   old) gets a fresh form with the name kept and a message (403), or, already signed in, goes
 *   on to where it was going;
 * - a logout without a valid token when no one is signed in lands on `/`: there is nothing to
 *   end. Signed in, it stays a 403 (the page's header carries a fresh Log out button).
 */
export function staleAuthForms(deps: AuthRouteDeps): StaleFormHandler {
  return async function staleAuthForms(ctx: Context): Promise<boolean> {
    if (ctx.method !== 'POST') return false;
    const fields = formFields(ctx);
    if (ctx.path === '/login') {
      const next = safeNextPath(fields.next);
      if (ctx.state.author) {
        setFlash(ctx, { text: `You are already signed in as ${ctx.state.author.username}.` });
        ctx.status = 303;
        ctx.redirect(afterSignIn(ctx, next));
        return true;
      }
      const username = (fields.username ?? '').slice(0, FIELD_MAX);
      await renderLogin(ctx, deps, 403, { error: 'That form had expired, so you are not signed in yet. Please enter your password again.', username, next });
      return true;
    }
    if (ctx.path === '/logout' && !ctx.state.author) {
      ctx.status = 303;
      ctx.redirect('/');
      return true;
    }
    return false;
  };
}
