import { describe, expect, it, vi } from 'vitest';
import { renderMarkdown } from '../../src/blog/markdown.ts';
import { PostRendering, type PostBody } from '../../src/blog/post-rendering.ts';
import { MemoryLogger } from '../support/memory-logger.ts';

const at = new Date(Date.UTC(2026, 0, 15));
const post = (body: string, over: Partial<PostBody> = {}): PostBody => ({ id: 7, version: 1, updatedAt: at, body, ...over });
const DEEP = `Intro <b>&\n\n${'> '.repeat(40)}deep`;

describe('PostRendering.html()', () => {
  it('renders Markdown that can be rendered', () => {
    const rendering = new PostRendering(new MemoryLogger());
    expect(rendering.html(post('Hello **you**'))).toBe('<p>Hello <strong>you</strong></p>\n');
  });

  it('gives a notice and the escaped Markdown when it cannot render, logged and rendered once per version', () => {
    const logger = new MemoryLogger();
    const renders = vi.fn(renderMarkdown);
    const rendering = new PostRendering(logger, renders);
    const html = rendering.html(post(DEEP));
    expect(html).toBe(
      '<p class="render-failed">This post could not be rendered. Its text follows as it was written.</p>\n' +
        `<pre class="post-source">Intro &#60;b&#62;&#38;\n\n${'&#62; '.repeat(40)}deep</pre>\n`,
    );
    expect(rendering.html(post(DEEP))).toBe(html);
    expect(renders.mock.calls.length, 'renders of one failing version').toBe(1);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        msg: 'post 7 (version 1) could not be rendered: Blockquotes and lists may nest at most 32 levels deep; line 3 goes deeper. Readers see its text instead.',
      },
    ]);

    rendering.html(post(`${DEEP} edited`, { version: 2 }));
    expect(renders.mock.calls.length).toBe(2);
    expect(logger.lines.map((line) => line.msg.slice(0, 18))).toEqual(['post 7 (version 1)', 'post 7 (version 2)']);
  });
});

describe('PostRendering.excerpt()', () => {
  it('falls back to the bare text, and shares one log line per version with html()', () => {
    const logger = new MemoryLogger();
    const rendering = new PostRendering(logger);
    expect(rendering.excerpt(post(DEEP, { id: 8 }))).toBe('Intro & deep');
    rendering.html(post(DEEP, { id: 8 }));
    rendering.excerpt(post(DEEP, { id: 8 }));
    expect(logger.lines).toHaveLength(1);
    expect(rendering.excerpt(post('Fine *text*', { id: 9 }))).toBe('Fine text');
    expect(logger.lines).toHaveLength(1);
  });
});
