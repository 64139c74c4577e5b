import type { Context, Next } from 'koa';

/**
 * The Content-Security-Policy of every response: scripts and styles only from this origin (no
 * inline script can run, whatever a post contains), images also from https, no plugins, no
 * framing, forms only to this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers set on every response, errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * Adds the security headers once the response is final, and marks anything built for the
 * signed-in author, or carrying a cookie, `Cache-Control: private, no-store` so no shared cache
 * keeps it. Mount it outermost.
 */
export function securityHeaders() {
  return async function securityHeaders(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } finally {
      ctx.set(SECURITY_HEADERS);
      if (ctx.state.author || ctx.response.get('Set-Cookie')) ctx.set('Cache-Control', 'private, no-store');
    }
  };
}
