import { describe, expect, it } from 'vitest';
import { EXCERPT_MEMO_SIZE, excerpt, renderMarkdown } from '../../src/blog/markdown.ts';

describe('renderMarkdown()', () => {
  it('renders Markdown: headings, emphasis, lists, code and links', () => {
    const html = renderMarkdown('# Title\n\n*em* **strong**\n\n- a\n- b\n\n```ts\nconst x = 1;\n```\n\n[link](https://example.org)');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<em>em</em>');
    expect(html).toContain('<li>a</li>');
    expect(html).toContain('<code class="language-ts">');
    expect(html).toContain('href="https://example.org"');
  });

  it.each([
    ['<script>alert(1)</script>', /<script/i],
    ['<img src="x" onerror="alert(1)">', /onerror/i],
    ['[click](javascript:alert(1))', /javascript:/i],
    ['<a href="JaVaScRiPt:alert(1)">x</a>', /javascript:/i],
    ['<iframe src="https://evil.example"></iframe>', /<iframe/i],
    ['<svg><script>alert(1)</script></svg>', /<script|<svg/i],
    ['![x](data:text/html;base64,PHNjcmlwdD4=)', /data:/i],
    ['<div style="background:url(javascript:alert(1))">x</div>', /style=|javascript:/i],
  ])('strips hostile markup from %s', (markdown, forbidden) => {
    expect(renderMarkdown(markdown)).not.toMatch(forbidden);
  });
});

describe('excerpt()', () => {
  it('gives plain text cut at a word with an ellipsis', () => {
    const text = excerpt(`## Heading\n\n${'Some **bold** words and <b>tags</b> here. '.repeat(20)}`, 50);
    expect(text.length).toBeLessThanOrEqual(51);
    expect(text).not.toMatch(/[<>*#]/);
    expect(text.endsWith('…')).toBe(true);
  });

  it('returns short texts whole', () => {
    expect(excerpt('Short & sweet')).toBe('Short & sweet');
  });
});

describe('excerpt() memo', () => {
  const body = (n: number) => `# Post ${n}\n\n${'Words of post number ' + n + ', with *emphasis*. '.repeat(30)}`;

  it('answers a repeated body from the memo with the same text as a fresh computation', () => {
    const text = body(Math.random());
    const before = excerpt.cacheInfo();
    const first = excerpt(text);
    const second = excerpt(text);
    const after = excerpt.cacheInfo();
    expect(second).toBe(first);
    expect(first).toBe(excerpt.uncached(text));
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(1);
  });

  it('keys by content and length: an edited body or another length is computed afresh', () => {
    const text = body(Math.random());
    const edited = text.replace('# Post', '# Edited post');
    expect(excerpt(edited)).toBe(excerpt.uncached(edited));
    expect(excerpt(edited)).not.toBe(excerpt(text));
    expect(excerpt(text, 40)).toBe(excerpt.uncached(text, 40));
    expect(excerpt(text, 40).length).toBeLessThan(excerpt(text).length);
  });

  it('stays bounded', () => {
    for (let i = 0; i < EXCERPT_MEMO_SIZE + 50; i++) excerpt(`short ${i} ${Math.random()}`);
    expect(excerpt.cacheInfo().size).toBe(EXCERPT_MEMO_SIZE);
  });
});
