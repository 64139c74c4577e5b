import { describe, expect, it } from 'vitest';
import { RequestCollector } from '../../../src/cache/toolbar/collector.ts';
import { watchLogger } from '../../../src/cache/toolbar/logger.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

describe('watchLogger()', () => {
  it('notes each line on the request running in the current async context, and still writes it', async () => {
    const collector = new RequestCollector();
    const inner = new MemoryLogger();
    const logger = watchLogger(inner, collector);
    logger.info('before any request');
    const [a, b] = await Promise.all([
      collector.run({ method: 'GET', url: '/a' }, async (record) => {
        await Promise.resolve();
        logger.warn('from a');
        return record;
      }),
      collector.run({ method: 'GET', url: '/b' }, async (record) => {
        logger.error('from b');
        await new Promise((resolve) => setImmediate(resolve));
        logger.info('b again');
        return record;
      }),
    ]);
    expect(a.logs.map((l) => `${l.level} ${l.msg}`)).toEqual(['warn from a']);
    expect(b.logs.map((l) => `${l.level} ${l.msg}`)).toEqual(['error from b', 'info b again']);
    expect(inner.lines.map((l) => l.msg)).toEqual(['before any request', 'from b', 'from a', 'b again']);
    // The rest of the logger stays reachable.
    expect(logger.warns).toEqual(['from a']);
  });

  it('bounds the lines kept per request and counts the rest', async () => {
    const collector = new RequestCollector({ maxItems: 2 });
    const logger = watchLogger(new MemoryLogger(), collector);
    const record = await collector.run({ method: 'GET', url: '/' }, async (r) => {
      for (let i = 0; i < 5; i += 1) logger.info(`line ${i}`);
      return r;
    });
    expect(record.logs).toHaveLength(2);
    expect(record.dropped.logs).toBe(3);
  });
});
