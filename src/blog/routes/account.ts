import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { PASSWORD_LENGTH, PASSWORD_RULE, passwordProblem } from '../password-policy.ts';
import { WRONG_PASSWORD, type PasswordChange } from '../services/users.ts';
import { signIn } from '../web/auth.ts';
import { formFields } from '../web/body.ts';

/** Where the account page lives, under the author's area. */
export const ACCOUNT_PATH = '/account';

type Field = 'current' | 'password' | 'confirm';

const WRONG_CURRENT: PasswordChange = { ok: false, field: 'current', message: WRONG_PASSWORD };

async function renderAccount(ctx: Context, status: number, view: { errors?: Partial<Record<Field, string>>; message?: string; changed?: boolean } = {}): Promise<void> {
  ctx.status = status;
  await ctx.render('admin/account.njk', { title: 'Your account', rule: PASSWORD_RULE, maxLength: PASSWORD_LENGTH.max, errors: {}, ...view });
  ctx.status = status;
}

/**
 * `POST /admin/account/password` (`current`, `password`, `confirm`, `_csrf`): changes the
 * signed-in author's password. A new password that does not match its confirmation or is below
 * the floor is refused (400) before the current one is looked at; checking the current one
 * counts as a login attempt of the client (the same throttle and count as `POST /login`, so
 * guesses here and there share one limit: 429 past it). On success every other session of the
 * author ends (their credential stamp no longer matches) and this one continues under a new id
 * and CSRF token: 303 to the account page.
 */
async function changePassword(ctx: Context): Promise<void> {
  const throttle = ctx.services.loginThrottle;
  const author = ctx.state.author;
  if (author === undefined) ctx.throw(401);
  const { current = '', password = '', confirm = '' } = formFields(ctx);
  const errors: Partial<Record<Field, string>> = {};
  if (password !== confirm) errors.confirm = 'The two new passwords differ.';
  const weak = passwordProblem(password, author.username);
  if (weak !== undefined) errors.password = weak;
  if (current === '') errors.current = 'Enter your current password.';
  if (Object.keys(errors).length > 0) {
    await renderAccount(ctx, 400, { errors, message: 'Your password was not changed.' });
    return;
  }
  const verdict = await throttle.attempt(ctx.ip);
  if (!verdict.allowed) {
    ctx.set('Retry-After', String(verdict.retryAfterSeconds));
    const minutes = Math.ceil(verdict.retryAfterSeconds / 60);
    await renderAccount(ctx, 429, { message: `Too many wrong passwords. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` });
    return;
  }
  // No password is longer than the maximum: a longer "current" one is wrong without hashing it.
  const change: PasswordChange =
    current.length > PASSWORD_LENGTH.max ? WRONG_CURRENT : await ctx.services.users.changePassword(author.id, current, password);
  if (!change.ok) {
    const field: Field = change.field === 'password' ? 'password' : 'current';
    await renderAccount(ctx, 400, { errors: { [field]: change.message }, message: 'Your password was not changed.' });
    return;
  }
  await throttle.succeeded(ctx.ip);
  await signIn(ctx, author);
  ctx.status = 303;
  ctx.redirect(`/admin${ACCOUNT_PATH}?changed=1`);
}

/** Adds the account page and the password change to the author's router (which guards them). */
export function accountRoutes(router: Router): void {
  router.get('admin-account', ACCOUNT_PATH, async (ctx) => {
    await renderAccount(ctx, 200, { changed: ctx.query.changed === '1' });
  });
  router.post('admin-password', `${ACCOUNT_PATH}/password`, changePassword);
}
