import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../types.ts';

/** How long a bar's token stays valid: a developer's tab may stay open for a working day. */
export const TOOLBAR_TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;

/**
 * The toolbar's CSRF token for `POST /_toolbar/cache/clear`: `expiry.HMAC(expiry)` under a key
 * derived from the app's secret, carried by the bar (only ever rendered for allow-listed
 * clients, never cached) and sent back in the `X-Kiln-Toolbar-Token` header. A custom header
 * cannot be sent cross-origin without a CORS preflight the app never grants, and the route also
 * checks `Origin`; an anonymous developer needs no author session to use it.
 */
export class ToolbarToken {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly clock: Clock = systemClock,
    private readonly lifetimeMs = TOOLBAR_TOKEN_LIFETIME_MS,
  ) {
    if (typeof secret !== 'string' || secret.length < 16) throw new TypeError('ToolbarToken: the secret must be at least 16 characters');
    // A key of its own, so this token can never pass for anything else signed with the secret.
    this.key = createHmac('sha256', secret).update('kiln toolbar token').digest();
  }

  /** A fresh token. */
  issue(): string {
    const expires = this.clock.now() + this.lifetimeMs;
    return `${expires}.${this.mac(expires)}`;
  }

  /** Whether `token` was issued by this key and has not expired. */
  verify(token: string | undefined): boolean {
    if (!token) return false;
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expires = Number(match[1]);
    const now = this.clock.now();
    if (expires <= now || expires > now + this.lifetimeMs) return false;
    const a = createHash('sha256').update(match[2]).digest();
    const b = createHash('sha256').update(this.mac(expires)).digest();
    return timingSafeEqual(a, b);
  }

  private mac(expires: number): string {
    return createHmac('sha256', this.key).update(String(expires)).digest('base64url');
  }
}
