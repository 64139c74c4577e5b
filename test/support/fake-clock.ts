import type { Clock } from '../../src/cache/types.ts';

/** A clock that only moves when a test moves it. */
export class FakeClock implements Clock {
  /** `start` is the first reading, in milliseconds since the epoch (default 2023-11-14T22:13:20Z). */
  constructor(private current = 1_700_000_000_000) {}

  /** The fake time in milliseconds. */
  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the time to `ms` milliseconds since the epoch (backwards too, to test a clock step). */
  set(ms: number): void {
    this.current = ms;
  }
}
