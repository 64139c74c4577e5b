import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../src/blog/web/throttle.ts';
import { FakeClock } from '../../support/app.ts';

const make = (clock: FakeClock, maxClients?: number) => new LoginThrottle({ maxFailures: 10, windowMs: 15 * 60_000, clock, maxClients });

describe('LoginThrottle.check()', () => {
  it('allows 10 failures and refuses the next attempt', () => {
    const clock = new FakeClock();
    const throttle = make(clock);
    for (let i = 0; i < 10; i++) {
      expect(throttle.check('a').allowed).toBe(true);
      throttle.fail('a');
    }
    expect(throttle.check('a')).toEqual({ allowed: false, retryAfterSeconds: 900 });
    expect(throttle.check('b').allowed).toBe(true);
  });

  it('slides the window: old failures stop counting after 15 minutes', () => {
    const clock = new FakeClock();
    const throttle = make(clock);
    throttle.fail('a');
    clock.advance(10 * 60_000);
    for (let i = 0; i < 9; i++) throttle.fail('a');
    expect(throttle.check('a')).toEqual({ allowed: false, retryAfterSeconds: 300 });
    clock.advance(5 * 60_000);
    expect(throttle.check('a').allowed).toBe(true);
    throttle.fail('a');
    expect(throttle.check('a').allowed).toBe(false);
  });

  it('forgets a client on reset()', () => {
    const clock = new FakeClock();
    const throttle = make(clock);
    for (let i = 0; i < 10; i++) throttle.fail('a');
    throttle.reset('a');
    expect(throttle.check('a').allowed).toBe(true);
  });

  it('remembers at most maxClients clients, forgetting the oldest', () => {
    const clock = new FakeClock();
    const throttle = make(clock, 2);
    for (let i = 0; i < 10; i++) throttle.fail('old');
    for (let i = 0; i < 10; i++) throttle.fail('mid');
    for (let i = 0; i < 10; i++) throttle.fail('new');
    expect(throttle.check('old').allowed).toBe(true);
    expect(throttle.check('mid').allowed).toBe(false);
    expect(throttle.check('new').allowed).toBe(false);
  });
});
