import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;

const HOSTILE = [
  '<script>window.pwned = 1</script>',
  '<img src="x" onerror="window.pwned = 2">',
  '[click me](javascript:window.pwned=3)',
  '<a href="JaVaScRiPt:window.pwned=4">upper</a>',
  '<a href="&#106;avascript:window.pwned=5">entity</a>',
  '<iframe src="https://evil.example"></iframe>',
  '<svg onload="window.pwned=6"></svg>',
  '![img](javascript:window.pwned=7)',
  '<p style="background:url(javascript:alert(8))" onclick="alert(9)">styled</p>',
  '<form action="https://evil.example"><button>go</button></form>',
].join('\n\n');

let id: number;

beforeAll(async () => {
  t = await startTestApp();
  id = (await t.addPost({ title: 'Hostile <script>alert("title")</script>', body: `Normal **text**\n\n${HOSTILE}` })).id;
});
afterAll(() => t.close());

function expectClean(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  expect(html).not.toMatch(/javascript:/i);
  expect(html).not.toMatch(/<iframe|<svg|<form action="https:\/\/evil/i);
  expect(html).not.toMatch(/style="/i);
}

describe('a post with hostile Markdown', () => {
  it('renders without scripts, event handlers or javascript: URLs', async () => {
    const res = await t.request().get(`/posts/${id}`).expect(200);
    expect(res.text).toContain('Normal <strong>text</strong>');
    expect(res.text).toContain('Hostile &lt;script&gt;');
    expectClean(res.text);
  });

  it('is just as clean for the author, in the index, the feed and the API', async () => {
    const agent = t.request();
    await login(agent);
    expectClean((await agent.get(`/posts/${id}`).expect(200)).text);
    expectClean((await t.request().get('/').expect(200)).text);
    const api = await t.request().get(`/api/v1/posts/${id}`).expect(200);
    expectClean(api.body.html);
    const feed = await t.request().get('/feed.xml').expect(200);
    const content = feed.text.slice(feed.text.indexOf('<content'), feed.text.indexOf('</content>'));
    expect(content).toContain('&#60;strong&#62;text&#60;/strong&#62;');
    expect(content).not.toMatch(/&#60;script|onerror|javascript:/i);
    expect(feed.text).not.toMatch(/<script/i);
  });
});
