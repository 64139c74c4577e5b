import { isIP } from 'node:net';
import type { Context } from 'koa';
import { CacheConfigError } from '../config.ts';

/** When the dev toolbar appears, read from the environment by {@link toolbarConfigFromEnv}. */
export interface ToolbarConfig {
  /** Whether the toolbar is on at all: `KILN_TOOLBAR`, by default on in development only. */
  enabled: boolean;
  /** Client addresses that get the bar and its routes: `KILN_TOOLBAR_IPS`, by default loopback only. */
  allowedIps: readonly string[];
}

/** The loopback addresses, the default of `KILN_TOOLBAR_IPS` (like Django's INTERNAL_IPS). */
export const LOOPBACK_IPS: readonly string[] = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/**
 * Reads `KILN_TOOLBAR` (1/0; default 1 when `nodeEnv` is development, else 0) and
 * `KILN_TOOLBAR_IPS` (addresses separated by commas or spaces; default loopback). The allow-list
 * applies in every environment, so a development server bound to a public address does not show
 * its SQL to the network. Throws {@link CacheConfigError} naming the bad variable.
 *
 * @example
 * toolbarConfigFromEnv({ KILN_TOOLBAR: '1', KILN_TOOLBAR_IPS: '10.0.0.7' }, 'production');
 */
export function toolbarConfigFromEnv(env: Record<string, string | undefined>, nodeEnv: string): ToolbarConfig {
  const raw = env.KILN_TOOLBAR?.trim().toLowerCase() ?? '';
  let enabled: boolean;
  if (raw === '') enabled = nodeEnv === 'development';
  else if (['1', 'true', 'yes', 'on'].includes(raw)) enabled = true;
  else if (['0', 'false', 'no', 'off'].includes(raw)) enabled = false;
  else throw new CacheConfigError('KILN_TOOLBAR', `expected 1 or 0, got "${raw}"`);
  const list = env.KILN_TOOLBAR_IPS?.trim() ?? '';
  if (list === '') return { enabled, allowedIps: LOOPBACK_IPS };
  const allowedIps = list.split(/[\s,]+/).filter(Boolean);
  for (const ip of allowedIps) {
    if (isIP(ip) === 0) throw new CacheConfigError('KILN_TOOLBAR_IPS', `"${ip}" is not an IP address`);
  }
  return { enabled, allowedIps };
}

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

/** Whether this request gets the toolbar: it is on and the client is on the allow-list. */
export function toolbarAllowed(ctx: Context, config: ToolbarConfig): boolean {
  return config.enabled && ipAllowed(trustedClientIp(ctx), config.allowedIps);
}
