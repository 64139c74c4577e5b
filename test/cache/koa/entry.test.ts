import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import {
  bodyKey,
  decodeBody,
  encodePage,
  etagOf,
  loadPage,
  makePageEntry,
  PageBodies,
  pageEntry,
  readPageRecord,
  type StoredHeader,
} from '../../../src/cache/koa/page-cache/stored-page.ts';
import { MemoryLogger } from '../helpers.ts';

const headers: StoredHeader[] = [
  ['content-type', 'text/html; charset=utf-8'],
  ['link', ['</a.css>; rel=preload', '</b.js>; rel=preload']],
];

/** Encodes an entry and reads it back as the cache would hand it over (JSON data). */
function roundTrip(bytes: Buffer, stored: readonly StoredHeader[] = headers) {
  const entry = makePageEntry(bytes, stored, 1234);
  const { record, text } = encodePage(entry);
  const read = readPageRecord(JSON.parse(JSON.stringify(record)));
  const body = read && decodeBody(read, JSON.parse(JSON.stringify(text)));
  return { entry, read, body };
}

describe('encodePage() / readPageRecord() / decodeBody()', () => {
  it('round-trips any bytes and headers exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, value) => {
        const { entry, read, body } = roundTrip(Buffer.from(bytes), [['content-type', value]]);
        expect(read && body && pageEntry(read, body)).toEqual(entry);
      }),
    );
  });

  it('stores valid UTF-8 as text and anything else byte by byte', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const { entry, read, body } = roundTrip(Buffer.from(text, 'utf8'));
        expect(read?.b).toBe('u');
        expect(body?.toString('utf8')).toBe(text);
        expect(encodePage(entry).text).toBe(text);
      }),
    );
    expect(roundTrip(Buffer.from([0xc3, 0x28])).read?.b).toBe('l');
  });

  it('survives the cache and its JSON codec byte for byte', async () => {
    const cache = new Cache({ backend: new MemoryBackend(), logger: new MemoryLogger() });
    const bytes = Buffer.from([0x00, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0xc3, 0x28, 0xff, 0xe2, 0x80, 0xa8]);
    const entry = makePageEntry(bytes, headers, 99);
    const { record, text } = encodePage(entry);
    await cache.set(bodyKey(entry.etag), text);
    await cache.set('page', record);
    expect(await loadPage(cache, 'page')).toEqual(entry);
    await cache.delete(bodyKey(entry.etag));
    expect(await loadPage(cache, 'page')).toBeUndefined();
  });

  it('refuses records of another shape and bodies that do not match their record', () => {
    const { record, text } = encodePage(makePageEntry(Buffer.from('<p>hello</p>'), headers, 1));
    expect(readPageRecord(record)).toEqual(record);
    for (const bad of [{ ...record, v: 1 }, { ...record, t: '1' }, { ...record, b: 'x' }, { ...record, h: [['a', 1]] }, 'page', null, 42]) {
      expect(readPageRecord(bad)).toBeUndefined();
    }
    expect(decodeBody(record, text.slice(0, -1))).toBeUndefined();
    expect(decodeBody(record, text.replace('hello', 'jello'))).toBeUndefined();
    expect(decodeBody(record, undefined)).toBeUndefined();
    expect(decodeBody(record, text)?.toString()).toBe('<p>hello</p>');
  });
});

describe('etagOf() and bodyKey()', () => {
  it('give a quoted strong validator and a key that follow the bytes', () => {
    const a = etagOf(Buffer.from('a'));
    expect(a).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(etagOf(Buffer.from('a'))).toBe(a);
    expect(etagOf(Buffer.from('b'))).not.toBe(a);
    expect(bodyKey(a)).not.toBe(bodyKey(etagOf(Buffer.from('b'))));
  });
});

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
