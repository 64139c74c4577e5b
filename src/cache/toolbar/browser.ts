import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

/**
 * Which browser a toolbar request comes from, so each developer's browser sees only its own
 * requests (another loopback client must not read the author's activity). The id is 128 random
 * bits in an httpOnly, SameSite=Strict cookie, set only on pages the toolbar injected its bar
 * into: the toolbar works on the finished response, outside the page cache, so no stored page
 * ever carries it, and with the toolbar off (production) it is never set at all.
 */

/** The cookie that carries the browser's toolbar id. */
export const TOOLBAR_BROWSER_COOKIE = 'kiln_toolbar';

const BROWSER_ID = /^[A-Za-z0-9_-]{22}$/;

/** The toolbar id the request's browser sent, if it sent a well-formed one. */
export function browserIdOf(ctx: Context): string | undefined {
  const id = ctx.cookies.get(TOOLBAR_BROWSER_COOKIE, { signed: false });
  return id !== undefined && BROWSER_ID.test(id) ? id : undefined;
}

/** A new browser id. */
export function newBrowserId(): string {
  return randomBytes(16).toString('base64url');
}

/** Gives the browser its id, for the session (httpOnly, SameSite=Strict, Secure over HTTPS). */
export function setBrowserId(ctx: Context, id: string): void {
  ctx.cookies.set(TOOLBAR_BROWSER_COOKIE, id, { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, signed: false, overwrite: true });
}
