import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomFeed, escapeXml } from '../../../src/blog/routes/feed.ts';
import { SITE_URL, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  for (let i = 25; i >= 1; i--) await t.addPost({ title: `Feed post ${i}`, body: `Text of *${i}* & more` }, i);
  await t.addPost({ title: 'A draft & <b>', published: false });
});
afterAll(() => t.close());

describe('GET /feed.xml', () => {
  it('is an Atom document of the 20 latest published posts', async () => {
    const res = await t.request().get('/feed.xml').expect(200).expect('Content-Type', /application\/atom\+xml/);
    expect(res.text.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
    expect(res.text).toContain('<feed xmlns="http://www.w3.org/2005/Atom">');
    const entries = res.text.match(/<entry>/g) ?? [];
    expect(entries).toHaveLength(20);
    expect(res.text.match(/<\/entry>/g)).toHaveLength(20);
    expect(res.text).toContain('<title>Feed post 1</title>');
    expect(res.text).toContain('<title>Feed post 20</title>');
    expect(res.text).not.toContain('Feed post 21<');
    expect(res.text).not.toContain('A draft');
    // Text is escaped: no raw markup or bare ampersands inside elements.
    expect(res.text).toContain('Text of 1 &#38; more');
    expect(res.text).not.toMatch(/&(?!#\d+;|amp;|lt;|gt;|quot;)/);
  });

  it('builds every absolute URL from SITE_URL, whatever Host or X-Forwarded-Host says', async () => {
    const res = await t
      .request()
      .get('/feed.xml')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Forwarded-Proto', 'https')
      .expect(200);
    expect(res.text).not.toContain('evil.example');
    const urls = [...res.text.matchAll(/(?:href="|<id>)([^"<]+)/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThan(20);
    for (const url of urls) expect(url.startsWith(`${SITE_URL}/`)).toBe(true);
    expect(res.text).toMatch(new RegExp(`<link rel="alternate" type="text/html" href="${SITE_URL}/posts/\\d+"/>`));
  });
});

describe('atomFeed()', () => {
  it('gives an empty blog a valid feed with an epoch update time', () => {
    const xml = atomFeed([], 'https://blog.example');
    expect(xml).toContain('<updated>1970-01-01T00:00:00.000Z</updated>');
    expect(xml).toContain('<id>https://blog.example/</id>');
    expect(xml).not.toContain('<entry>');
  });
});

describe('escapeXml()', () => {
  it('escapes markup characters and drops characters XML forbids', () => {
    expect(escapeXml(`<a href="x">'&'</a>\u0001`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});
