import { isIP } from 'node:net';
import type { Context } from 'koa';
import { ipAllowed, LOOPBACK_IPS, trustedClientIp } from '../koa/client-address.ts';

/** When the dev toolbar appears; the application fills it from its own configuration. */
export interface ToolbarConfig {
  /** Whether the toolbar is on at all: `KILN_TOOLBAR`, by default on in development only. */
  enabled: boolean;
  /** Client addresses that get the bar and its routes: `KILN_TOOLBAR_IPS`, by default loopback only. */
  allowedIps: readonly string[];
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
