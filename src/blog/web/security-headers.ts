import type { Context } from 'koa';

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
 * HTTP Strict Transport Security (RFC 6797) of a site served over https: browsers use https
 * only, for a year, subdomains included. Browsers ignore it on plain http, so it is safe on the
 * http hop behind a TLS proxy.
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * The headers every response of the site at `siteUrl` carries: {@link SECURITY_HEADERS}, plus
 * `Strict-Transport-Security` when the site is https (never on an http site, whose browsers
 * could then no longer reach it).
 */
export function securityHeadersFor(siteUrl: string): Readonly<Record<string, string>> {
  if (!siteUrl.startsWith('https:')) return SECURITY_HEADERS;
  return { ...SECURITY_HEADERS, 'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY };
}

/**
 * The request frame's personal rule (src/app.ts): anything built for the signed-in author, or
 * carrying a cookie, is `Cache-Control: private, no-store`, so no shared cache keeps it; an error
 * without its own Cache-Control is `no-store` (a CDN would otherwise keep a 404 after the page
 * exists). It runs on every response, cached hits included, so it reads Koa's response, not the
 * context's delegating getters.
 */
export function privateWhenPersonal(ctx: Context): void {
  if (ctx.state.author || ctx.response.get('Set-Cookie')) ctx.set('Cache-Control', 'private, no-store');
  else if (ctx.response.status >= 400 && !ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-store');
}
