import { describe, expect, it } from 'vitest';
import { PageBodies } from '../../../src/cache/koa/page-cache/page-bodies.ts';

describe('PageBodies', () => {
  it('keeps bodies by ETag', () => {
    const bodies = new PageBodies();
    const body = Buffer.from('x');
    bodies.remember('"e"', body);
    expect(bodies.get('"e"')).toBe(body);
    expect(bodies.get('"f"')).toBeUndefined();
  });

  it('stays within its bounds, oldest out first', () => {
    const bodies = new PageBodies({ maxEntries: 2, maxBytes: 10 });
    bodies.remember('a', Buffer.from('a'));
    bodies.remember('b', Buffer.from('b'));
    bodies.remember('c', Buffer.from('c'));
    expect([bodies.get('a'), bodies.get('b')?.toString(), bodies.get('c')?.toString()]).toEqual([undefined, 'b', 'c']);
    bodies.remember('big', Buffer.alloc(11));
    expect(bodies.get('big')).toBeUndefined();
    bodies.remember('nine', Buffer.alloc(9));
    // 1 + 1 + 9 bytes is over the bound: the oldest ('b') goes, which is enough.
    expect([bodies.get('b'), bodies.get('c')?.toString(), bodies.get('nine')?.length]).toEqual([undefined, 'c', 9]);
  });
});
