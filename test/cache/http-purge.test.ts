import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpPurger, purgeOpEvent, type HttpPurgeOptions, type PurgeEvent, type PurgeTimers } from '../../src/cache/http-purge.ts';
import { freePort } from '../support/children.ts';
import { MemoryLogger } from '../support/memory-logger.ts';
import { waitUntil } from '../support/wait.ts';

/** A cache that records every purge it gets and answers as `answer` says (default: 200 with a count). */
class PurgeCache {
  readonly purges: { method: string; tags: string }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  answer: (res: ServerResponse) => void = (res) => {
    res.setHeader('xkey-purged', '3');
    res.end('Purged 3\n');
  };
  /** Holds every response until `release()`, to observe concurrency. */
  held: (() => void)[] | undefined;
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.purges.push({ method: req.method ?? '', tags: String(req.headers['xkey-purge'] ?? '') });
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const finish = () => {
        this.inFlight -= 1;
        this.answer(res);
      };
      if (this.held) this.held.push(finish);
      else finish();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/`;
  }

  release(): void {
    for (const finish of this.held?.splice(0) ?? []) finish();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Timers that run only when the test says: `runAll()` fires everything due, in order. */
class ManualTimers implements PurgeTimers {
  readonly waiting: { run: () => void; ms: number; cancelled: boolean }[] = [];

  set(run: () => void, ms: number): { cancel(): void } {
    const timer = { run, ms, cancelled: false };
    this.waiting.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Delays of the timers still waiting. */
  get delays(): number[] {
    return this.waiting.filter((t) => !t.cancelled).map((t) => t.ms);
  }

  /** Fires every timer waiting now (not those they set). */
  fire(): void {
    for (const timer of this.waiting.splice(0)) if (!timer.cancelled) timer.run();
  }
}

const caches: PurgeCache[] = [];
const purgers: HttpPurger[] = [];
afterEach(async () => {
  for (const purger of purgers.splice(0)) purger.close();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

async function purgeCache(): Promise<{ cache: PurgeCache; url: string }> {
  const cache = new PurgeCache();
  caches.push(cache);
  return { cache, url: await cache.listen() };
}

function purger(options: HttpPurgeOptions): { purger: HttpPurger; events: PurgeEvent[]; timers: ManualTimers } {
  const timers = new ManualTimers();
  const made = new HttpPurger({ repeatAfterMs: 0, timers, ...options });
  purgers.push(made);
  const events: PurgeEvent[] = [];
  made.events.on('purge', (event: PurgeEvent) => events.push(event));
  return { purger: made, events, timers };
}

/** A URL nothing listens on: connections are refused at once. */
async function refusingUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/`;
}

describe('HttpPurger.purge()', () => {
  it('sends PURGE with the tags in xkey-purge to every cache and reports what they purged', async () => {
    const a = await purgeCache();
    const b = await purgeCache();
    const { purger: p, events } = purger({ urls: [a.url, b.url] });
    expect(await p.purge(['lists', 'post:3', 'lists'])).toEqual({ sent: 2, failed: 0 });
    for (const { cache } of [a, b]) expect(cache.purges).toEqual([{ method: 'PURGE', tags: 'lists post:3' }]);
    expect(events.map((e) => [e.target, e.result, e.attempt, e.purged])).toEqual(
      expect.arrayContaining([
        [a.url, 'sent', 'first', 3],
        [b.url, 'sent', 'first', 3],
      ]),
    );
  });

  it('never rejects when a cache is down, and retries with a doubling delay until it answers', async () => {
    const url = await refusingUrl();
    const logger = new MemoryLogger();
    const { purger: p, events, timers } = purger({ urls: [url], backoffMs: 100, logger });
    expect(await p.purge(['post:1'])).toEqual({ sent: 0, failed: 1 });
    expect(await p.purge(['post:2'])).toEqual({ sent: 0, failed: 1 });
    expect(timers.delays).toEqual([100]);
    timers.fire();
    await waitUntil(() => events.length === 3 && timers.delays.length === 1);
    expect(timers.delays).toEqual([200]);
    expect(events.map((e) => [e.result, e.attempt, e.tags.join(' ')])).toEqual([
      ['failed', 'first', 'post:1'],
      ['failed', 'first', 'post:2'],
      ['failed', 'retry', 'post:1 post:2'],
    ]);
    expect(logger.warns).toHaveLength(1);
    expect(events[0].error).toMatch(/ECONNREFUSED/);
  });

  it('sends what failed, merged, once the cache answers again', async () => {
    const { cache, url } = await purgeCache();
    cache.answer = (res) => {
      res.statusCode = 503;
      res.end();
    };
    const { purger: p, events, timers } = purger({ urls: [url] });
    await p.purge(['post:1']);
    await p.purge(['lists']);
    cache.answer = (res) => res.end();
    timers.fire();
    await p.idle();
    expect(cache.purges.map((purge) => purge.tags)).toEqual(['post:1', 'lists', 'post:1 lists']);
    expect(events.map((e) => e.result)).toEqual(['failed', 'failed', 'sent']);
    expect(events[0].error).toBe('HTTP 503 Service Unavailable');
  });

  it('sends waiting retries at once when a new purge succeeds', async () => {
    const { cache, url } = await purgeCache();
    cache.answer = (res) => {
      res.statusCode = 500;
      res.end();
    };
    const { purger: p, timers } = purger({ urls: [url], backoffMs: 10_000 });
    await p.purge(['post:1']);
    cache.answer = (res) => res.end();
    await p.purge(['post:2']);
    expect(timers.delays).toEqual([0]);
    timers.fire();
    await p.idle();
    expect(cache.purges.map((purge) => purge.tags)).toEqual(['post:1', 'post:2', 'post:1']);
  });

  it('gives a purge up after `retries` retries, reporting it abandoned', async () => {
    const url = await refusingUrl();
    const { purger: p, events, timers } = purger({ urls: [url], retries: 2 });
    await p.purge(['post:1']);
    for (let i = 0; i < 3; i++) {
      timers.fire();
      await waitUntil(() => timers.delays.length > 0 || events.some((e) => e.result === 'abandoned'));
    }
    await p.idle();
    expect(events.map((e) => [e.attempt, e.result])).toEqual([
      ['first', 'failed'],
      ['retry', 'failed'],
      ['retry', 'failed'],
      ['retry', 'abandoned'],
    ]);
    expect(events[3].tags).toEqual(['post:1']);
    expect(timers.delays).toEqual([]);
  });

  it('fails a cache that does not answer within timeoutMs, without waiting longer', async () => {
    const { cache, url } = await purgeCache();
    cache.held = [];
    const { purger: p, events } = purger({ urls: [url], timeoutMs: 50, retries: 0 });
    const started = performance.now();
    expect(await p.purge(['post:1'])).toEqual({ sent: 0, failed: 1 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(events.map((e) => [e.result, e.error])).toEqual([
      ['failed', 'no answer within 50 ms'],
      ['abandoned', 'given up after 0 retries'],
    ]);
    cache.release();
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { cache, url } = await purgeCache();
    cache.held = [];
    const { purger: p } = purger({ urls: [url, url, url], concurrency: 2 });
    const purging = p.purge(['lists']);
    await waitUntil(() => cache.inFlight === 2);
    cache.release();
    await waitUntil(() => cache.purges.length === 3);
    cache.release();
    expect(await purging).toEqual({ sent: 3, failed: 0 });
    expect(cache.maxInFlight).toBe(2);
  });

  it('sends every purge once more after repeatAfterMs, merged with the purges made meanwhile', async () => {
    const { cache, url } = await purgeCache();
    const { purger: p, events, timers } = purger({ urls: [url], repeatAfterMs: 1000 });
    await p.purge(['post:1']);
    await p.purge(['lists']);
    expect(timers.delays).toEqual([1000]);
    timers.fire();
    await p.idle();
    expect(cache.purges.map((purge) => purge.tags)).toEqual(['post:1', 'lists', 'post:1 lists']);
    expect(events.at(-1)?.attempt).toBe('repeat');
  });

  it('purges everything (`all`) when a tag cannot be sent as it is', async () => {
    const { cache, url } = await purgeCache();
    const { purger: p } = purger({ urls: [url] });
    await p.purge(['post:1', 'two words']);
    await p.purge(['x'.repeat(5000)]);
    expect(await p.purge([])).toEqual({ sent: 0, failed: 0 });
    expect(cache.purges.map((purge) => purge.tags)).toEqual(['all', 'all']);
  });

  it('does nothing after close(), and close() cancels waiting retries', async () => {
    const url = await refusingUrl();
    const { purger: p, timers } = purger({ urls: [url] });
    await p.purge(['post:1']);
    p.close();
    expect(timers.delays).toEqual([]);
    await p.idle();
    expect(await p.purge(['post:2'])).toEqual({ sent: 0, failed: 0 });
  });
});

describe('new HttpPurger()', () => {
  it.each([['ftp://cache/'], ['not a url'], ['/relative']])('refuses %s as a purge URL', (url) => {
    expect(() => new HttpPurger({ urls: [url] })).toThrow(TypeError);
  });

  it('refuses nonsensical numbers', () => {
    expect(() => new HttpPurger({ urls: [], timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new HttpPurger({ urls: [], retries: -1 })).toThrow(/retries/);
  });

  it('names its caches without credentials', () => {
    expect(new HttpPurger({ urls: ['http://user:secret@cache.internal:6081/purge'] }).urls).toEqual(['http://cache.internal:6081/purge']);
  });
});

describe('purgeOpEvent()', () => {
  it('shows a purge as a tag invalidation on the http backend, for the toolbar', () => {
    const op = purgeOpEvent({ target: 'http://v:6081/', tags: ['lists', 'post:3'], attempt: 'retry', result: 'failed', durationMs: 2, error: 'refused' });
    expect(op).toEqual({
      op: 'invalidateTags',
      key: 'lists post:3',
      result: 'error',
      origin: 'direct',
      backend: 'http',
      durationMs: 2,
      detail: 'PURGE http://v:6081/ (retry)',
      error: 'refused',
    });
  });
});
