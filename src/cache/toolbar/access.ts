import { isIP } from 'node:net';
import type { Context } from 'koa';

/** When the dev toolbar appears; the application fills it from its own configuration. */
export interface ToolbarConfig {
  /** Whether the toolbar is on at all: `KILN_TOOLBAR`, by default on in development only. */
  enabled: boolean;
  /** Client addresses that get the bar and its routes: `KILN_TOOLBAR_IPS`, by default loopback only. */
  allowedIps: readonly string[];
}

/** The loopback addresses, the default of `KILN_TOOLBAR_IPS` (like Django's INTERNAL_IPS). */
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

/** The loopback host names, the default of the toolbar's `hosts` (any port). */
export const LOCAL_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The host names the toolbar answers for, checked once: each a bare host name or IP address (no
 * scheme, port or path; an IPv6 address with or without brackets), in lower case. Throws a
 * TypeError naming the bad entry.
 */
export function hostNames(names: readonly string[]): ReadonlySet<string> {
  if (!Array.isArray(names) || names.length === 0) throw new TypeError('toolbar: `hosts` must be a non-empty array of host names');
  const set = new Set<string>();
  for (const name of names) {
    const bare = typeof name === 'string' && isIP(name) === 6 ? `[${name}]` : name;
    const bracketed = typeof bare === 'string' && bare.startsWith('[');
    if (typeof bare !== 'string' || hostNameOf(bare) !== bare.toLowerCase() || (bracketed && isIP(bare.slice(1, -1)) !== 6)) {
      throw new TypeError(`toolbar: \`hosts\` entry ${JSON.stringify(name)} is not a host name`);
    }
    set.add(bare.toLowerCase());
  }
  return set;
}

// A bracketed IPv6 address or a name without the characters a URL host forbids (so no `@`, `/`
// or second `:` can smuggle another name in), then an optional port.
const HOST = /^(\[[0-9a-f:.]+\]|[^\s#%/:<>?@[\\\]^|]+)(?::\d{1,5})?$/i;

/** The host name of a `Host` header value (`name[:port]`, `[v6][:port]`), lower case; undefined when malformed. */
export function hostNameOf(host: string): string | undefined {
  return HOST.exec(host)?.[1].toLowerCase();
}

/**
 * Whether the request was addressed to one of `hosts` (any port). A page from another name that
 * resolves to this server (DNS rebinding) arrives with its own name in `Host`, and is refused.
 */
export function hostAllowed(ctx: Context, hosts: ReadonlySet<string>): boolean {
  const name = hostNameOf(ctx.host);
  return name !== undefined && hosts.has(name);
}

/**
 * Whether a state-changing request says it comes from a page of ours: its `Origin` (required) is
 * http(s) on one of `hosts`, any port.
 */
export function originAllowed(ctx: Context, hosts: ReadonlySet<string>): boolean {
  const origin = ctx.get('Origin');
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin.toLowerCase()) return false;
  return hosts.has(url.hostname);
}

/** Who may see the toolbar: the environment's switch and addresses, and the host names it answers for. */
export interface ToolbarAccess {
  config: ToolbarConfig;
  /** From {@link hostNames}. */
  hosts: ReadonlySet<string>;
}

/**
 * Whether this request gets the toolbar: it is on, the client is on the allow-list and the
 * request was addressed to one of the site's own host names.
 */
export function toolbarAllowed(ctx: Context, access: ToolbarAccess): boolean {
  return access.config.enabled && ipAllowed(trustedClientIp(ctx), access.config.allowedIps) && hostAllowed(ctx, access.hosts);
}
