import { isIP } from 'node:net';
import type { Clock } from '../../cache/index.ts';
import { normalizeIp } from '../../cache/toolbar/index.ts';
import { CLIENT_KEY_MAX, type LoginAttemptStore } from '../services/login-attempts.ts';

/** Options of the login throttle. */
export interface ThrottleOptions {
  /** Attempts a client may make per window without signing in; later ones are refused unevaluated. */
  maxAttempts: number;
  /** Length of a window, from the client's first attempt in it, in milliseconds. */
  windowMs: number;
  /** Where attempts are counted: shared by every Kiln process (src/blog/services/session-stores.ts). */
  store: LoginAttemptStore;
  clock: Clock;
}

/** What the throttle says about an attempt it has just counted. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The key a client's attempts are counted under: its address in one canonical form, an IPv6
 * address reduced to its /64 (one subscriber's network, whose addresses an attacker could
 * otherwise rotate through for a fresh count each). An IPv4-mapped IPv6 address counts as the
 * IPv4 address.
 */
export function clientKey(ip: string): string {
  const address = normalizeIp(ip.split('%')[0]);
  if (isIP(address) !== 6) return address.slice(0, CLIENT_KEY_MAX);
  return `${ipv6Groups(address).slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

// The eight 16-bit groups of a valid IPv6 address (a trailing dotted quad is two groups).
function ipv6Groups(address: string): number[] {
  let text = address;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16));
}

/**
 * Limits login attempts per client: each attempt is counted first, in the shared store, and
 * only the first `maxAttempts` of a window are let through to the password check, so attempts
 * sent in parallel, to several workers or to several hosts cannot slip past the limit. A
 * successful login starts the client's count afresh.
 *
 * @example
 * const verdict = await throttle.attempt(ctx.ip);
 * if (!verdict.allowed) ctx.set('Retry-After', String(verdict.retryAfterSeconds));
 */
export class LoginThrottle {
  constructor(private readonly options: ThrottleOptions) {}

  /** Counts an attempt by the client at `ip` and says whether it may be evaluated. */
  async attempt(ip: string): Promise<ThrottleVerdict> {
    const { count, resetAt } = await this.options.store.hit(clientKey(ip), this.options.windowMs);
    if (count <= this.options.maxAttempts) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((resetAt - this.options.clock.now()) / 1000)) };
  }

  /** Forgets the attempts of the client at `ip` (it has just signed in). */
  succeeded(ip: string): Promise<void> {
    return this.options.store.reset(clientKey(ip));
  }
}
