import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisBackend, isRedisOutage } from '../../src/cache/distributed/redis/backend.ts';
import { withBreaker, type BreakerGuardedBackend, type BreakerState } from '../../src/cache/distributed/breaker.ts';
import { Cache } from '../../src/cache/cache.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { requireRedisServerBinary } from '../support/services.ts';
import { waitUntil } from '../support/wait.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

// Every scenario runs on a private redis-server: the shared one is never stopped or frozen.
const canSpawn = await requireRedisServerBinary();
const COMMAND_TIMEOUT_MS = 250;
/** How far past the command timeout a call may settle while Redis misbehaves. */
const SLACK_MS = 150;
const OPEN_MS = 1000;

interface Setup {
  cache: Cache;
  inner: RedisBackend;
  backend: BreakerGuardedBackend;
  logger: MemoryLogger;
  states: BreakerState[];
}

let server: RedisServer | undefined;
let setup: Setup | undefined;

afterEach(async () => {
  await setup?.cache.close();
  setup = undefined;
  await server?.stop();
  server = undefined;
});

/** A fail-open cache over a breaker-guarded Redis backend, as the config wires it. */
function makeCache(url: string): Setup {
  const inner = new RedisBackend({ url, prefix: 'faults:', commandTimeoutMs: COMMAND_TIMEOUT_MS });
  const states: BreakerState[] = [];
  const backend = withBreaker(inner, {
    failureThreshold: 3,
    openMs: OPEN_MS,
    isFailure: isRedisOutage,
    onStateChange: (state) => states.push(state),
  });
  const logger = new MemoryLogger();
  setup = { cache: new Cache({ backend, logger }), inner, backend, logger, states };
  return setup;
}

/**
 * Runs `call` and asserts it settled at most {@link SLACK_MS} after a timer of `expectedMs`,
 * started alongside it, fired. Measuring against a timer on the same event loop keeps the bound
 * fair on a starved machine (both run late) while still failing any call that waits on Redis.
 */
async function bounded<T>(call: () => Promise<T>, expectedMs = COMMAND_TIMEOUT_MS): Promise<T> {
  const start = performance.now();
  let firedAt: number | undefined;
  const reference = setTimeout(() => (firedAt = performance.now()), expectedMs);
  const result = await call();
  const end = performance.now();
  clearTimeout(reference);
  // Finishing before the reference timer fired is within the bound by definition.
  const late = firedAt === undefined ? 'before' : `${Math.round(end - firedAt)} ms after`;
  expect(end, `settled after ${Math.round(end - start)} ms, ${late} a ${expectedMs} ms timer`).toBeLessThanOrEqual(
    Math.max(start + expectedMs, firedAt ?? end) + SLACK_MS,
  );
  return result;
}

describe.skipIf(!canSpawn)('Cache on Redis that is down at boot', () => {
  it('constructs, misses and skips writes within the command timeout, then hits once Redis starts', async () => {
    server = await startRedisServer();
    await server.stop(); // the port is now known and nothing listens on it
    const { cache, logger } = makeCache(server.url);

    expect(await bounded(() => cache.get('k'))).toBeUndefined();
    expect(await bounded(() => cache.set('k', 'v'))).toBe(false);
    let computed = 0;
    expect(await bounded(() => cache.getOrSet('page', () => `render ${++computed}`))).toBe('render 1');
    expect(cache.health()).toBe('degraded');
    expect(logger.warns).toHaveLength(1);

    await server.restart();
    await waitUntil(async () => (await cache.set('k', 'v')) === true, { what: 'a write after the restart' });
    expect(await cache.get('k')).toBe('v');
    await cache.getOrSet('page', () => `render ${++computed}`);
    expect(await cache.getOrSet('page', () => `render ${++computed}`)).toBe('render 2');
    expect(computed).toBe(2);
    expect(cache.health()).toBe('ok');
    expect(logger.infos.filter((line) => line.includes('recovered'))).toHaveLength(1);
  });
});

describe.skipIf(!canSpawn)('Cache on Redis that dies mid-use', () => {
  it('fails open during the outage and serves hits again by itself after a restart', async () => {
    server = await startRedisServer();
    const { cache, logger } = makeCache(server.url);
    let computed = 0;
    const render = () => `render ${++computed}`;
    await cache.getOrSet('page', render);
    await cache.getOrSet('page', render);
    expect(computed).toBe(1);

    await server.kill();
    for (let i = 0; i < 8; i++) {
      expect(await bounded(() => cache.getOrSet('page', render))).toBe(`render ${computed}`);
    }
    expect(computed).toBe(9);
    expect(await bounded(() => cache.delete('page'))).toBe(false);
    expect(logger.warns).toHaveLength(1);

    await server.restart();
    await waitUntil(async () => (await cache.set('probe', 1)) === true, { what: 'a write after the restart' });
    const before = computed;
    await cache.getOrSet('page', render);
    await cache.getOrSet('page', render);
    expect(computed).toBe(before + 1);
  });
});

describe.skipIf(!canSpawn)('Cache on Redis that is frozen (SIGSTOP)', () => {
  it('never waits past the timeout, opens the breaker, and recovers after SIGCONT', async () => {
    server = await startRedisServer();
    const { cache, inner, backend, states } = makeCache(server.url);
    await cache.set('page', 'html');
    expect(await cache.get('page')).toBe('html');

    server.freeze();
    const reached = vi.spyOn(inner, 'get');
    for (let i = 0; i < 3; i++) expect(await bounded(() => cache.get('page'))).toBeUndefined();
    expect(reached).toHaveBeenCalledTimes(3);
    expect(backend.breakerState).toBe('open');

    // Open: calls are answered at once (no timeout waited) and never reach Redis.
    for (let i = 0; i < 20; i++) expect(await bounded(() => cache.get('page'), 0)).toBeUndefined();
    expect(await bounded(() => cache.set('other', 'x'), 0)).toBe(false);
    expect(reached).toHaveBeenCalledTimes(3);

    server.thaw();
    await waitUntil(async () => (await bounded(() => cache.get('page'))) === 'html', { what: 'a hit after SIGCONT' });
    expect(backend.breakerState).toBe('closed');
    expect(states.slice(0, 2)).toEqual(['open', 'half-open']);
    expect(states.at(-1)).toBe('closed');
    expect(cache.health()).toBe('ok');
  });
});
