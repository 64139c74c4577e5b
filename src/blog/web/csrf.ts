import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Clock } from '../../cache/index.ts';
import { formFields } from './body.ts';

/** Name of the cookie that pairs a login form with the browser that fetched it. */
export const LOGIN_CSRF_COOKIE = 'kiln.login';

const LOGIN_TOKEN_LIFETIME_MS = 60 * 60 * 1000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const NONCE = /^[A-Za-z0-9_-]{32}$/;

/** A fresh random token for an author session's forms. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time (hashing first, so lengths do not leak either). */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length > 0;
}

/**
 * The login form's CSRF defence, which needs no browsing session: `GET /login` sets a signed,
 * short-lived cookie holding a random nonce and puts `expiry.HMAC(nonce, expiry)` in the form;
 * `POST /login` must bring both back (double submit bound by a MAC) before the expiry.
 */
export class LoginCsrf {
  private readonly key: Buffer;

  constructor(private readonly options: { secret: string; clock: Clock; secure: boolean }) {
    // A key of its own, so a login token can never pass for anything else signed with the secret.
    this.key = createHmac('sha256', options.secret).update('kiln login csrf').digest();
  }

  /**
   * Sets the nonce cookie on this response and returns the token for the form's `_csrf`. A
   * browser that already holds a nonce keeps it, so a login form open in another tab stays valid.
   */
  issue(ctx: Context): string {
    const held = ctx.cookies.get(LOGIN_CSRF_COOKIE, { signed: true });
    const nonce = held !== undefined && NONCE.test(held) ? held : randomBytes(24).toString('base64url');
    const expires = this.options.clock.now() + LOGIN_TOKEN_LIFETIME_MS;
    ctx.cookies.set(LOGIN_CSRF_COOKIE, nonce, {
      path: '/login',
      httpOnly: true,
      sameSite: 'strict',
      signed: true,
      secure: this.options.secure,
      maxAge: LOGIN_TOKEN_LIFETIME_MS,
      overwrite: true,
    });
    return `${expires}.${this.mac(nonce, expires)}`;
  }

  /** Whether `token` was issued with this request's nonce cookie and has not expired. */
  verify(ctx: Context, token: string | undefined): boolean {
    const nonce = ctx.cookies.get(LOGIN_CSRF_COOKIE, { signed: true });
    if (!nonce || !token) return false;
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expires = Number(match[1]);
    const now = this.options.clock.now();
    if (expires <= now || expires > now + LOGIN_TOKEN_LIFETIME_MS) return false;
    return tokensEqual(match[2], this.mac(nonce, expires));
  }

  /** Expires the nonce cookie (after a successful login). */
  clear(ctx: Context): void {
    ctx.cookies.set(LOGIN_CSRF_COOKIE, null, { path: '/login', overwrite: true });
  }

  private mac(nonce: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${nonce}\0${expires}`).digest('base64url');
  }
}

/**
 * Whether the request comes from one of our own pages: its `Origin` (or, without one, its
 * `Referer`) must be the configured site or the origin the request was addressed to. A request
 * with neither header (not a browser form) is left to the token check.
 */
export function isSameOrigin(ctx: Context, siteUrl: string): boolean {
  const origin = ctx.get('Origin');
  const referer = ctx.get('Referer');
  let claimed: string;
  if (origin !== '') {
    claimed = origin;
  } else if (referer !== '') {
    try {
      claimed = new URL(referer).origin;
    } catch {
      return false;
    }
  } else {
    return true;
  }
  const allowed = new Set([new URL(siteUrl).origin, `${ctx.protocol}://${ctx.host}`]);
  return claimed !== 'null' && allowed.has(claimed);
}

/** Options of the CSRF middleware. */
export interface CsrfOptions {
  /** The configured site URL; its origin is always accepted. */
  siteUrl: string;
  /** Issues and checks the login form's tokens. */
  login: LoginCsrf;
  /** The path whose POST carries a login token rather than a session token. */
  loginPath?: string;
  /**
   * Tried in turn on a same-origin request whose token is missing, stale or from another
   * session, before the bare 403: one may answer it (a fresh form, the author's text kept) and
   * return true. The request must still change nothing it was refused.
   */
  staleForms?: readonly StaleFormHandler[];
}

/** Answers a same-origin request that brought no valid token, or returns false to leave it to the 403. */
export type StaleFormHandler = (ctx: Context) => Promise<boolean>;

/**
 * Refuses (403) every state-changing request that is cross-origin or lacks a valid token:
 * `/login` takes a login token, everything else the signed-in session's token. The token comes
 * from the `_csrf` field or an `X-CSRF-Token` header. A same-origin request without a valid one
 * goes to `staleForms` first. Runs after the body parser.
 */
export function csrfProtection(options: CsrfOptions) {
  const loginPath = options.loginPath ?? '/login';
  return async function csrfProtection(ctx: Context, next: Next): Promise<void> {
    if (UNSAFE_METHODS.has(ctx.method)) {
      if (!isSameOrigin(ctx, options.siteUrl)) ctx.throw(403, 'Cross-origin request refused.');
      const token = formFields(ctx)._csrf ?? (ctx.get('X-CSRF-Token') || undefined);
      const valid =
        ctx.path === loginPath ? options.login.verify(ctx, token) : sessionTokenMatches(ctx, token);
      if (!valid) {
        for (const handler of options.staleForms ?? []) if (await handler(ctx)) return;
        ctx.throw(403, 'The form has expired or did not come from this site, so nothing was changed.');
      }
    }
    await next();
  };
}

function sessionTokenMatches(ctx: Context, token: string | undefined): boolean {
  const expected = ctx.state.author ? ctx.state.csrfToken : undefined;
  return expected !== undefined && token !== undefined && tokensEqual(token, expected);
}
