import { describe, expect, it } from 'vitest';
import { excerpt, renderMarkdown } from '../../src/blog/markdown.ts';

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
