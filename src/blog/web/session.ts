import { createHmac } from 'node:crypto';
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { createSession } from 'koa-session';
import type { Config } from '../../config.ts';
import type { SessionStore } from '../services/sessions.ts';
import { tokensEqual } from './csrf.ts';

/** Name of the session cookie; it carries only `id.signature` of a session stored server-side. */
export const SESSION_COOKIE = 'kiln.sid';

/** How long an author stays signed in without activity, in milliseconds. */
export const SESSION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

const ID = /^[A-Za-z0-9-]{16,64}$/;

/**
 * Whether a request carries Kiln's session cookie (valid or not). Only such a request can turn
 * out to be the author's, so every other one is a reader: the page cache may answer it early.
 */
export function carriesSessionCookie(ctx: Context): boolean {
  return ctx.req.headers.cookie?.includes(`${SESSION_COOKIE}=`) === true;
}

/**
 * Reads and writes the session id in one signed cookie (`id.HMAC-SHA256(id)`), in place of the
 * cookie library's `.sig` companion cookie: that library answers a bad signature by clearing
 * the companion with a Set-Cookie, which would put a cookie on a reader's public page.
 */
export function signedSessionCookie(config: Config) {
  const key = createHmac('sha256', config.sessionSecret).update('kiln session cookie').digest();
  const sign = (id: string) => createHmac('sha256', key).update(id).digest('base64url');
  return {
    /** The session id of a correctly signed cookie, else '' (koa-session then starts afresh). */
    get(ctx: Context): string {
      const raw = ctx.cookies.get(SESSION_COOKIE, { signed: false }) ?? '';
      const dot = raw.lastIndexOf('.');
      const id = raw.slice(0, dot);
      return dot > 0 && ID.test(id) && tokensEqual(raw.slice(dot + 1), sign(id)) ? id : '';
    },
    /** Sets the signed cookie for `id`. */
    set(ctx: Context, id: string): void {
      ctx.cookies.set(SESSION_COOKIE, `${id}.${sign(id)}`, {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.secureCookies,
        maxAge: SESSION_MAX_AGE_MS,
        signed: false,
        overwrite: true,
      });
    },
  };
}

/**
 * koa-session over the server-side store (database or Redis). What Kiln relies on (koa-session 7.0.2, src/context.ts):
 * with a store, a request without a valid cookie gets a new, empty in-memory session that is
 * saved (and a cookie set) only once it holds data, so readers never receive a Set-Cookie; an
 * unchanged session is not re-saved (`rolling: false`); `regenerate()` destroys the old id's row
 * and saves under a new id; `ctx.session = null` destroys the row and expires the cookie.
 * When the site is https the cookie jar is told so, because TLS may end at a proxy.
 */
export function sessionMiddleware(app: Koa, config: Config, store: SessionStore) {
  const session = createSession(
    {
      key: SESSION_COOKIE,
      maxAge: SESSION_MAX_AGE_MS,
      autoCommit: true,
      httpOnly: true,
      // Signed by `signedSessionCookie`, not by the cookie library (see there).
      signed: false,
      sameSite: 'lax',
      secure: config.secureCookies,
      rolling: false,
      // An author who keeps working past half the lifetime gets a fresh expiry.
      renew: true,
      externalKey: signedSessionCookie(config),
      store: {
        get: (key: string) => store.get(key),
        set: (key: string, data: Record<string, unknown>, maxAge: number) => store.set(key, data, maxAge),
        destroy: (key: string) => store.destroy(key),
      },
    },
    app,
  );
  return async function kilnSession(ctx: Context, next: Next): Promise<void> {
    if (config.secureCookies) ctx.cookies.secure = true;
    await session(ctx, next);
  };
}
