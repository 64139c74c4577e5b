import { describe, expect, it } from 'vitest';
import { RESTART_POLICY, restartDelay } from '../src/workers.ts';

describe('restartDelay()', () => {
  it('restarts after the base delay, doubling with each early death in a row', () => {
    expect([0, 1, 2, 3].map((n) => restartDelay(n))).toEqual([100, 200, 400, 800]);
  });

  it('never waits longer than the cap, however many deaths', () => {
    expect(restartDelay(9)).toBe(RESTART_POLICY.maxDelayMs);
    expect(restartDelay(10_000)).toBe(RESTART_POLICY.maxDelayMs);
  });

  it('follows the policy it is given', () => {
    expect(restartDelay(2, { baseDelayMs: 10, maxDelayMs: 35, stableAfterMs: 1 })).toBe(35);
    expect(restartDelay(1, { baseDelayMs: 10, maxDelayMs: 35, stableAfterMs: 1 })).toBe(20);
  });
});
