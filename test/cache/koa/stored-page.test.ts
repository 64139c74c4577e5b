import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/cache/backends/memory.ts';
import { Cache } from '../../../src/cache/cache.ts';
import { pageBodyKey } from '../../../src/cache/keys.ts';
import {
  decodePageBody,
  encodeStoredPage,
  etagOf,
  loadPage,
  readStoredPageRecord,
  storedPageFrom,
  storedPageOf,
  type StoredHeader,
} from '../../../src/cache/koa/page-cache/stored-page.ts';
import { MemoryLogger } from '../../support/memory-logger.ts';

const headers: StoredHeader[] = [
  ['content-type', 'text/html; charset=utf-8'],
  ['link', ['</a.css>; rel=preload', '</b.js>; rel=preload']],
];

/** Encodes an entry and reads it back as the cache would hand it over (JSON data). */
function roundTrip(bytes: Buffer, stored: readonly StoredHeader[] = headers) {
  const entry = storedPageOf(bytes, stored, 1234);
  const { record, text } = encodeStoredPage(entry);
  const read = readStoredPageRecord(JSON.parse(JSON.stringify(record)));
  const body = read && decodePageBody(read, JSON.parse(JSON.stringify(text)));
  return { entry, read, body };
}

describe('encodeStoredPage() / readStoredPageRecord() / decodePageBody()', () => {
  it('round-trips any bytes and headers exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, value) => {
        const { entry, read, body } = roundTrip(Buffer.from(bytes), [['content-type', value]]);
        expect(read && body && storedPageFrom(read, body, [])).toEqual(entry);
      }),
    );
  });

  it('stores valid UTF-8 as text and anything else byte by byte', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const { entry, read, body } = roundTrip(Buffer.from(text, 'utf8'));
        expect(read?.bodyEncoding).toBe('utf8');
        expect(body?.toString('utf8')).toBe(text);
        expect(encodeStoredPage(entry).text).toBe(text);
      }),
    );
    expect(roundTrip(Buffer.from([0xc3, 0x28])).read?.bodyEncoding).toBe('latin1');
  });

  it('survives the cache and its JSON codec byte for byte', async () => {
    const cache = new Cache({ backend: new MemoryBackend(), logger: new MemoryLogger() });
    const bytes = Buffer.from([0x00, 0x0a, 0x22, 0x5c, 0x7f, 0x80, 0xc3, 0x28, 0xff, 0xe2, 0x80, 0xa8]);
    const entry = storedPageOf(bytes, headers, 99);
    const { record, text } = encodeStoredPage(entry);
    await cache.set(pageBodyKey(entry.etag), text);
    await cache.set('page', record);
    expect(await loadPage(cache, 'page')).toEqual(entry);
    await cache.delete(pageBodyKey(entry.etag));
    expect(await loadPage(cache, 'page')).toBeUndefined();
  });

  it('refuses records of another shape and bodies that do not match their record', () => {
    const { record, text } = encodeStoredPage(storedPageOf(Buffer.from('<p>hello</p>'), headers, 1));
    expect(readStoredPageRecord(record)).toEqual(record);
    for (const bad of [{ ...record, format: 1 }, { ...record, storedAt: '1' }, { ...record, bodyEncoding: 'x' }, { ...record, headers: [['a', 1]] }, 'page', null, 42]) {
      expect(readStoredPageRecord(bad)).toBeUndefined();
    }
    expect(decodePageBody(record, text.slice(0, -1))).toBeUndefined();
    expect(decodePageBody(record, text.replace('hello', 'jello'))).toBeUndefined();
    expect(decodePageBody(record, undefined)).toBeUndefined();
    expect(decodePageBody(record, text)?.toString()).toBe('<p>hello</p>');
  });
});

describe('readStoredPageRecord() of the previous format', () => {
  it('reads a format 2 record (one-letter fields) as the same record in format 3', () => {
    for (const bytes of [Buffer.from('<p>hello</p>'), Buffer.from([0xc3, 0x28])]) {
      const { record, text } = encodeStoredPage(storedPageOf(bytes, headers, 7));
      const v2 = { v: 2, t: record.storedAt, e: record.etag, n: record.bodyLength, b: record.bodyEncoding === 'utf8' ? 'u' : 'l', h: record.headers };
      const read = readStoredPageRecord(JSON.parse(JSON.stringify(v2)));
      expect(read).toEqual(record);
      expect(read && decodePageBody(read, text)).toEqual(bytes);
    }
  });

  it('refuses a format 2 record of another shape', () => {
    const v2 = { v: 2, t: 1, e: '"x"', n: 1, b: 'u', h: [] };
    expect(readStoredPageRecord(v2)).toMatchObject({ format: 3, etag: '"x"' });
    for (const bad of [{ ...v2, v: 3 }, { ...v2, t: '1' }, { ...v2, b: 'utf8' }, { ...v2, h: {} }, { ...v2, e: undefined }]) {
      expect(readStoredPageRecord(bad)).toBeUndefined();
    }
  });
});

describe('etagOf() and pageBodyKey()', () => {
  it('give a quoted strong validator and a key that follow the bytes', () => {
    const a = etagOf(Buffer.from('a'));
    expect(a).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(etagOf(Buffer.from('a'))).toBe(a);
    expect(etagOf(Buffer.from('b'))).not.toBe(a);
    expect(pageBodyKey(a)).not.toBe(pageBodyKey(etagOf(Buffer.from('b'))));
  });
});
