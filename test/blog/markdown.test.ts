import { describe, expect, it } from 'vitest';
import { EXCERPT_MEMO_SIZE, MarkdownError, excerpt, excerptOf, renderMarkdown } from '../../src/blog/markdown.ts';
import { markdownText } from '../../src/blog/markdown-text.ts';

describe('renderMarkdown()', () => {
  it('renders Markdown: headings, emphasis, lists, code and links', () => {
    const html = renderMarkdown('# Title\n\n*em* **strong**\n\n- a\n- b\n\n```ts\nconst x = 1;\n```\n\n[link](https://example.org)');
    expect(html).toContain('<h2>Title</h2>');
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
    const edited = text.replace('Words of', 'Edited words of');
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

describe('renderMarkdown() on Markdown marked cannot render', () => {
  it.each([
    ['`>` × 90,000', `${'>'.repeat(90_000)} x`],
    ['`- ` × 20,000', `${'- '.repeat(20_000)}x`],
    ['`1. ` × 30,000', `${'1. '.repeat(30_000)}x`],
  ])('refuses nesting of %s with a MarkdownError naming the limit, before marked runs', (_, markdown) => {
    expect(() => renderMarkdown(markdown)).toThrow(new MarkdownError('Blockquotes and lists may nest at most 32 levels deep; line 1 goes deeper.'));
  });

  it.each([
    ['emphasis nested 6,000 deep', `${'*'.repeat(6000)}x${'*'.repeat(6000)}`, 'RangeError'],
    ['a quote after a list item, then a lazy line', '- e\n  >1.\ne', 'TypeError'],
  ])('turns what marked throws on %s into a MarkdownError', (_, markdown, thrown) => {
    const failure = (() => {
      try {
        return renderMarkdown(markdown);
      } catch (err) {
        return err;
      }
    })();
    expect(failure).toBeInstanceOf(MarkdownError);
    expect(String(failure)).toMatch(new RegExp(`^MarkdownError: marked failed on it \\(${thrown}: `));
    // marked keeps no broken state: the next render is whole.
    expect(renderMarkdown('> *ok*')).toBe('<blockquote>\n<p><em>ok</em></p>\n</blockquote>\n');
  });
});

describe('excerptOf()', () => {
  it('falls back to the Markdown without its markup, cut like an excerpt, when it cannot be rendered', () => {
    const markdown = `> **Deep** [thoughts](https://example.org) \`code\`\n${'> '.repeat(40)}${'word '.repeat(100)}`;
    const made = excerptOf(markdown, 60);
    expect(made.error).toBeInstanceOf(MarkdownError);
    expect(made.text).toBe('Deep thoughts code word word word word word word word word…');
    expect(excerpt(markdown, 60)).toBe(made.text);
  });

  it('decodes entities once: escaped HTML stays escaped text', () => {
    expect(excerpt('Write &amp;lt;script&amp;gt; to show &lt;script&gt; & co')).toBe('Write &lt;script&gt; to show <script> & co');
    expect(excerpt('`<b>` &quot;q&quot; &#39;a&#39; &amp;amp;')).toBe('<b> "q" \'a\' &amp;');
    expect(excerptOf('fine').error).toBeUndefined();
  });
});

describe('markdownText()', () => {
  it('strips markers, emphasis, links, images, tags and fences, keeping words', () => {
    const markdown = '# Title\n\n> - **bold** and _em_ and snake_case\n> 2. [link](https://x.example) ![alt](i.png)\n\n```js\nconst a = 1;\n```\n\n---\n<b>tag</b> \\*literal\\*';
    expect(markdownText(markdown)).toBe('Title bold and em and snake_case link alt const a = 1; tag *literal*');
  });

  it('stays linear on 100,000 characters of unclosed brackets, tags and underscores', () => {
    for (const unit of ['[', '![a](', '<a ', '_a', '*_']) {
      const markdown = unit.repeat(Math.floor(100_000 / unit.length));
      expect(markdownText(markdown).length).toBeLessThanOrEqual(markdown.length);
    }
  });
});
