/** The integer counters backends store for `incr`: the decimal string of a safe integer. */

const INTEGER = /^-?\d+$/;

/** The integer held by a counter's stored string (absent counts as 0); rejects anything else. */
export function parseCounter(raw: string | undefined, key: string): number {
  if (raw === undefined) return 0;
  if (!INTEGER.test(raw)) throw new TypeError(`value at ${JSON.stringify(key)} is not an integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new RangeError(`value at ${JSON.stringify(key)} is out of range`);
  return value;
}

/** Checks a counter's delta: a safe integer. */
export function checkDelta(delta: number): void {
  if (!Number.isSafeInteger(delta)) throw new TypeError(`incr delta must be a safe integer, got ${delta}`);
}
