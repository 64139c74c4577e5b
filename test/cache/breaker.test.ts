import { describe, expect, it } from 'vitest';
import { BreakerOpenError, CircuitBreaker, withBreaker, type BreakerState } from '../../src/cache/distributed/breaker.ts';
import type { CacheBackend, Seconds } from '../../src/cache/types.ts';
import { ControllableBackend } from '../support/controllable-backend.ts';
import { FakeClock } from '../support/fake-clock.ts';

function setup(options: { failureThreshold?: number; openMs?: number } = {}) {
  const clock = new FakeClock();
  const inner = new ControllableBackend({ name: 'switchable', failure: 'connection refused', getMany: true });
  const states: BreakerState[] = [];
  const backend = withBreaker(inner, {
    failureThreshold: options.failureThreshold ?? 3,
    openMs: options.openMs ?? 1000,
    clock,
    onStateChange: (state) => states.push(state),
    isFailure: (error) => !(error instanceof Error && error.name === 'ReplyError'),
  });
  return { clock, inner, states, backend };
}

async function failTimes(backend: CacheBackend, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(backend.get('k')).rejects.toThrow('connection refused');
}

describe('withBreaker()', () => {
  it('passes calls and results through while closed', async () => {
    const { inner, backend } = setup();
    await backend.set('a', '1', 0);
    expect(await backend.get('a')).toBe('1');
    expect(await backend.getMany?.(['a', 'b'])).toEqual(['1', undefined]);
    expect(inner.calls).toBe(3);
    expect(backend.name).toBe('switchable');
    expect(backend.breakerState).toBe('closed');
  });

  it('opens after the threshold of consecutive failures and then refuses without calling the backend', async () => {
    const { inner, backend, states } = setup({ failureThreshold: 3 });
    inner.mode = 'fail';
    await failTimes(backend, 3);
    expect(backend.breakerState).toBe('open');
    expect(states).toEqual(['open']);
    const before = inner.calls;
    await expect(backend.get('k')).rejects.toBeInstanceOf(BreakerOpenError);
    await expect(backend.set('k', 'v', 0)).rejects.toBeInstanceOf(BreakerOpenError);
    await expect(backend.clear()).rejects.toBeInstanceOf(BreakerOpenError);
    expect(inner.calls).toBe(before);
  });

  it('counts only consecutive failures: a success in between resets the count', async () => {
    const { inner, backend } = setup({ failureThreshold: 3 });
    inner.mode = 'fail';
    await failTimes(backend, 2);
    inner.mode = 'ok';
    await backend.get('k');
    inner.mode = 'fail';
    await failTimes(backend, 2);
    expect(backend.breakerState).toBe('closed');
    await failTimes(backend, 1);
    expect(backend.breakerState).toBe('open');
  });

  it('lets exactly one probe through after openMs and closes when it succeeds', async () => {
    const { clock, inner, backend, states } = setup({ openMs: 1000 });
    inner.mode = 'fail';
    await failTimes(backend, 3);
    clock.advance(999);
    await expect(backend.get('k')).rejects.toBeInstanceOf(BreakerOpenError);
    clock.advance(1);
    inner.mode = 'hang';
    const before = inner.calls;
    const probe = backend.get('k');
    expect(backend.breakerState).toBe('half-open');
    // While the probe is out, everything else is refused at once.
    await expect(backend.get('other')).rejects.toBeInstanceOf(BreakerOpenError);
    expect(inner.calls).toBe(before + 1);
    inner.mode = 'ok';
    inner.failHung();
    await expect(probe).rejects.toThrow('timed out');
    expect(backend.breakerState).toBe('open');
    clock.advance(1000);
    expect(await backend.get('k')).toBeUndefined();
    expect(backend.breakerState).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    await backend.set('a', '1', 0);
    expect(await backend.get('a')).toBe('1');
  });

  it('re-opens for a full openMs when the probe fails', async () => {
    const { clock, inner, backend } = setup({ openMs: 1000 });
    inner.mode = 'fail';
    await failTimes(backend, 3);
    clock.advance(1000);
    await expect(backend.get('k')).rejects.toThrow('connection refused');
    expect(backend.breakerState).toBe('open');
    inner.mode = 'ok';
    clock.advance(500);
    await expect(backend.get('k')).rejects.toBeInstanceOf(BreakerOpenError);
    clock.advance(500);
    await backend.get('k');
    expect(backend.breakerState).toBe('closed');
  });

  it('admits a new probe when the previous one has not settled after another openMs', async () => {
    const { clock, inner, backend } = setup({ openMs: 1000 });
    inner.mode = 'fail';
    await failTimes(backend, 3);
    clock.advance(1000);
    inner.mode = 'hang';
    void backend.get('stuck').catch(() => {});
    clock.advance(999);
    await expect(backend.get('k')).rejects.toBeInstanceOf(BreakerOpenError);
    clock.advance(1);
    inner.mode = 'ok';
    await backend.get('k');
    expect(backend.breakerState).toBe('closed');
    inner.failHung();
  });

  it('ignores errors that isFailure does not count, in either direction', async () => {
    const { clock, inner, backend } = setup({ failureThreshold: 2 });
    inner.mode = 'reply-error';
    for (let i = 0; i < 5; i++) await expect(backend.get('k')).rejects.toThrow('WRONGTYPE');
    expect(backend.breakerState).toBe('closed');
    inner.mode = 'fail';
    await failTimes(backend, 2);
    clock.advance(1000);
    inner.mode = 'reply-error';
    await expect(backend.get('k')).rejects.toThrow('WRONGTYPE');
    // The inconclusive probe neither closed nor re-opened the circuit; the next call probes.
    expect(backend.breakerState).toBe('half-open');
    inner.mode = 'ok';
    await backend.get('k');
    expect(backend.breakerState).toBe('closed');
  });

  it('does not let failures of calls admitted before opening extend the pause', async () => {
    const { clock, inner, backend } = setup({ failureThreshold: 1, openMs: 1000 });
    inner.mode = 'hang';
    const early = backend.get('early');
    inner.mode = 'fail';
    await failTimes(backend, 1);
    clock.advance(900);
    inner.failHung();
    await expect(early).rejects.toThrow('timed out');
    clock.advance(100);
    inner.mode = 'ok';
    await backend.get('k');
    expect(backend.breakerState).toBe('closed');
  });

  it('exposes only the optional members the backend has, and always passes close() through', async () => {
    const { inner, backend } = setup({ failureThreshold: 1 });
    expect(backend.getMany).toBeTypeOf('function');
    expect(backend.setMany).toBeUndefined();
    expect(backend.incr).toBeUndefined();
    inner.mode = 'fail';
    await failTimes(backend, 1);
    const before = inner.calls;
    await backend.close?.();
    expect(inner.calls).toBe(before + 1);
  });
});

describe('new CircuitBreaker()', () => {
  it('rejects nonsensical options', () => {
    expect(() => new CircuitBreaker('x', { failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker('x', { openMs: -1 })).toThrow(RangeError);
  });

  it('names the backend and the wait in its refusal', async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker('redis', { failureThreshold: 1, openMs: 2000, clock });
    await expect(breaker.run(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    clock.advance(500);
    await expect(breaker.run(() => Promise.resolve(1))).rejects.toThrow(/redis: circuit open.*1500 ms/);
  });
});
