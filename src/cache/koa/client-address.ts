import type { Context } from 'koa';

/** The loopback addresses (IPv4, IPv6 and IPv4-mapped IPv6). */
export const LOOPBACK_IPS: readonly string[] = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/** An address in one canonical form: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as plain IPv4, lower case. */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1] : lower;
}

/** Whether `ip` is one of `allowed` (IPv4-mapped forms match their IPv4 address). */
export function ipAllowed(ip: string, allowed: readonly string[]): boolean {
  if (ip === '') return false;
  const wanted = normalizeIp(ip);
  return allowed.some((entry) => normalizeIp(entry) === wanted);
}

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * The client's address as far as it can be trusted, or '' when it cannot: with the app's
 * `proxy` setting off, a request that carries forwarding headers came through a proxy, so the
 * peer address (often loopback) is the proxy's, not the client's.
 */
export function trustedClientIp(ctx: Context): string {
  if (!ctx.app.proxy && FORWARDING_HEADERS.some((name) => ctx.get(name) !== '')) return '';
  return ctx.ip ?? '';
}

/** Whether the request comes from a loopback address (see {@link trustedClientIp}). */
export function isLoopbackClient(ctx: Context): boolean {
  return ipAllowed(trustedClientIp(ctx), LOOPBACK_IPS);
}
