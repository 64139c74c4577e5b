import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { TrustProxy } from '../../config.ts';
import { proxyTrust } from './forwarded.ts';

/**
 * An `X-Request-Id` worth keeping: letters, digits and `-_.:@/+=`, at most 128 characters (UUIDs,
 * hex ids, base64, a proxy's `host:counter`); anything else could forge or break a log line.
 */
export const SANE_REQUEST_ID = /^[A-Za-z0-9_.:@/+=-]{1,128}$/;

/** Options of {@link requestIds}. */
export interface RequestIdOptions {
  /** Whose `X-Request-Id` is kept: the proxies `TRUST_PROXY` names, no one else. */
  trustProxy: TrustProxy;
  /** What this process's ids start with (default 8 random hex digits, so ids stay unique across workers and restarts). */
  prefix?: string;
}

/**
 * The request frame's `requestId`: a trusted proxy's `X-Request-Id` when it is sane (so one id
 * follows a request through the proxy's log and Kiln's), else `<prefix>-<counter in base 36>`,
 * which costs a counter and no random bytes per request. A client that reaches Kiln directly
 * cannot choose its id.
 */
export function requestIds(options: RequestIdOptions): (ctx: Context) => string {
  const proxies = proxyTrust(options.trustProxy);
  const trusting = options.trustProxy.kind !== 'none';
  const prefix = options.prefix ?? randomBytes(4).toString('hex');
  let counter = 0;
  return function requestId(ctx: Context): string {
    if (trusting) {
      const sent = ctx.req.headers['x-request-id'];
      if (typeof sent === 'string' && SANE_REQUEST_ID.test(sent) && proxies.trusts(ctx.req.socket.remoteAddress ?? '')) return sent;
    }
    counter += 1;
    return `${prefix}-${counter.toString(36)}`;
  };
}
