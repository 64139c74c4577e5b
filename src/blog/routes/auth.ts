import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { formFields } from '../web/body.ts';
import type { LoginCsrf } from '../web/csrf.ts';
import { signIn, signOut } from '../web/auth.ts';
import type { LoginThrottle } from '../web/throttle.ts';
import { createRouter } from './router.ts';

/** What the login routes need besides the services. */
export interface AuthRouteDeps {
  loginCsrf: LoginCsrf;
  throttle: LoginThrottle;
}

const FIELD_MAX = 200;

async function renderLogin(ctx: Context, deps: AuthRouteDeps, status: number, error?: string, username = ''): Promise<void> {
  ctx.status = status;
  ctx.state.csrfToken = deps.loginCsrf.issue(ctx);
  await ctx.render('pages/login.njk', { title: 'Log in', error, username });
  ctx.status = status;
}

/** The login form and the logout action. */
export function authRoutes(deps: AuthRouteDeps): Router {
  const router = createRouter();

  // The form carries a token tied to a cookie set here, not to a browsing session.
  router.get('login', '/login', async (ctx) => {
    await renderLogin(ctx, deps, 200);
  });

  // CSRF (token + Origin) was checked by the middleware before this handler runs. The attempt
  // is counted before the password is looked at, so parallel guesses cannot pass the limit.
  router.post('login-submit', '/login', async (ctx) => {
    const verdict = await deps.throttle.attempt(ctx.ip);
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
      await renderLogin(ctx, deps, 429, `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
      return;
    }
    const { username = '', password = '' } = formFields(ctx);
    const author =
      username !== '' && password !== '' && username.length <= FIELD_MAX && password.length <= FIELD_MAX
        ? await ctx.services.users.verify(username, password)
        : null;
    if (author === null) {
      await renderLogin(ctx, deps, 401, 'Wrong username or password.', username.slice(0, FIELD_MAX));
      return;
    }
    await deps.throttle.succeeded(ctx.ip);
    await signIn(ctx, author);
    await ctx.services.pages.sessionChanged();
    deps.loginCsrf.clear(ctx);
    ctx.status = 303;
    ctx.redirect('/admin');
  });

  router.post('logout', '/logout', async (ctx) => {
    signOut(ctx);
    await ctx.services.pages.sessionChanged();
    ctx.status = 303;
    ctx.redirect('/');
  });

  return router;
}
