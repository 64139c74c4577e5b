import type { Clock, Seconds } from './types.ts';

/** Absolute expiry times in milliseconds by a {@link Clock}, where 0 means never. */

/** The absolute expiry time for a timeout in seconds; 0 = never. */
export function expiryOf(clock: Clock, ttl: Seconds): number {
  return ttl > 0 ? clock.now() + Math.max(1, Math.round(ttl * 1000)) : 0;
}

/** Whether an absolute expiry time (0 = never) has passed. */
export function isExpired(clock: Clock, expiresAt: number): boolean {
  return expiresAt !== 0 && clock.now() >= expiresAt;
}

/** The earlier of two absolute expiry times, where 0 is never. */
export function earliest(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}
