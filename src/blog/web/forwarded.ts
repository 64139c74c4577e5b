import { BlockList, isIP } from 'node:net';
import type { Context } from 'koa';
import { normalizeIp } from '../../cache/toolbar/index.ts';
import type { TrustProxy } from '../../config.ts';

/** Whether `name` (lower case) is a header through which a proxy speaks for the client. */
export function isForwardingHeader(name: string): boolean {
  return name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip';
}

/** Which peers are believed about the client, built once from `TRUST_PROXY`. */
export interface ProxyTrust {
  /** Whether `peer` (the socket's remote address) is a proxy whose forwarding headers count. */
  trusts(peer: string): boolean;
  /**
   * The client a trusted `peer` forwards for, from its `X-Forwarded-For` value: the nearest
   * address the trusted proxies did not vouch for; the peer itself when the header is absent or
   * names something that is not an address.
   */
  client(peer: string, forwardedFor: string): string;
}

function family(ip: string): 'ipv4' | 'ipv6' | undefined {
  const kind = isIP(ip);
  return kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : undefined;
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [raw, prefix] = entry.split('/');
    const address = normalizeIp(raw);
    const type = family(address);
    if (type === undefined) throw new TypeError(`not an IP address or CIDR range: "${entry}"`);
    if (prefix === undefined) list.addAddress(address, type);
    // An IPv4-mapped range (::ffff:10.0.0.0/104) is kept as written; peers are compared unmapped.
    else list.addSubnet(address, Math.max(0, Number(prefix) - (type === 'ipv4' && raw.includes(':') ? 96 : 0)), type);
  }
  return list;
}

function listed(list: BlockList, ip: string): boolean {
  const address = normalizeIp(ip);
  const type = family(address);
  return type !== undefined && list.check(address, type);
}

const LOOPBACK = blockList(['127.0.0.0/8', '::1']);

/**
 * The trust `TRUST_PROXY` describes: with a hop count the nearest proxy must be a loopback peer
 * and the count says how many entries of `X-Forwarded-For` it and the proxies behind it wrote;
 * with addresses, every listed hop is skipped from the right.
 */
export function proxyTrust(trust: TrustProxy): ProxyTrust {
  if (trust.kind === 'none') return { trusts: () => false, client: (peer) => peer };
  const proxies = trust.kind === 'hops' ? LOOPBACK : blockList(trust.addresses);
  return {
    trusts: (peer) => listed(proxies, peer),
    client(peer, forwardedFor) {
      const chain = [...forwardedFor.split(',').map((entry) => entry.trim()).filter(Boolean), peer];
      let i = chain.length - 1;
      if (trust.kind === 'hops') i = Math.max(0, i - trust.hops);
      else while (i > 0 && listed(proxies, chain[i])) i -= 1;
      return family(normalizeIp(chain[i])) === undefined ? peer : chain[i];
    },
  };
}

/**
 * Normalises the forwarding headers of a request once, at the boundary (the request frame's
 * `normalize`), so that Koa (`ctx.ip`, `ctx.protocol`, `ctx.host`), the toolbar's and /metrics'
 * loopback checks and the login throttle all see the same thing: from a trusted proxy,
 * `X-Forwarded-For` becomes the one client address it vouches for; from any other peer, every
 * forwarding header is dropped, so a client that reaches the port directly cannot choose its own
 * address, scheme or host. Without a proxy (`none`) the headers are left alone: Koa then ignores
 * them, and the toolbar and /metrics take a request that carries them for one relayed by a proxy
 * nobody configured.
 */
export function forwardedHeaders(trust: TrustProxy): (ctx: Context) => void {
  const proxies = proxyTrust(trust);
  return function forwardedHeaders(ctx: Context): void {
    if (trust.kind === 'none') return;
    const peer = ctx.req.socket.remoteAddress ?? '';
    const headers = ctx.req.headers;
    if (proxies.trusts(peer)) {
      headers['x-forwarded-for'] = proxies.client(peer, ctx.get('X-Forwarded-For'));
    } else {
      for (const name of Object.keys(headers)) if (isForwardingHeader(name)) delete headers[name];
    }
  };
}
