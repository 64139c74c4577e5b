import { Marked, type Token } from 'marked';
import { describe, expect, it } from 'vitest';
import { MAX_MARKDOWN_NESTING, markdownNesting, nestingProblem, prepareMarkdown } from '../../src/blog/markdown-nesting.ts';

const LIMIT = MAX_MARKDOWN_NESTING;
const BODY_LIMIT = 100_000;
const fill = (unit: string, suffix = '') => unit.repeat(Math.floor((BODY_LIMIT - suffix.length) / unit.length)) + suffix;

/** How deeply marked's tokens nest blockquotes and list items in the Markdown it is given, walked without recursion. */
function markedDepth(markdown: string): number {
  const prepared = prepareMarkdown(markdown, Number.MAX_SAFE_INTEGER);
  if (prepared.problem !== undefined) throw new Error(prepared.problem);
  const marked = new Marked({ gfm: true, async: false });
  let deepest = 0;
  const todo: [Token[], number][] = [[marked.lexer(prepared.text), 0]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [tokens, depth] = next;
    deepest = Math.max(deepest, depth);
    for (const token of tokens) {
      if (token.type === 'blockquote') todo.push([token.tokens ?? [], depth + 1]);
      if (token.type === 'list') for (const item of token.items) todo.push([item.tokens, depth + 1]);
    }
  }
  return deepest;
}

/** A seeded random number generator (mulberry32), so generated documents are the same every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('markdownNesting()', () => {
  it.each([
    ['plain text', 'Just a paragraph.\n\nAnd another.', 0],
    ['a blockquote', '> quoted', 1],
    ['a flat list', '- a\n- b\n- c\n1. d\n2. e', 1],
    ['quotes and lists combined on one line', '> - > 1. x', 4],
    ['`>` without spaces', '>>> x', 3],
    ['lists nested by indentation', '- a\n  - b\n    - c\n      1. d', 4],
    ['a list inside a quote, continued on later lines', '> - a\n>   - b\n>     - c', 4],
    ['a thematic break, not three list items', '- - -\n* * *', 0],
    ['markers inside fenced code', '```\n> > > > x\n- - - - x\n```\n~~~\n> > x\n~~~', 0],
    ['markers in indented code', '    > > > x\n    - - - x', 0],
    ['a tab after the marker', '-\t-\t-\tx', 3],
  ])('counts %s', (_, markdown, depth) => {
    expect(markdownNesting(markdown).depth).toBe(depth);
    expect(markedDepth(markdown)).toBe(depth);
  });

  it('names the 1-based line that goes deepest', () => {
    expect(markdownNesting('intro\n\n> a\n> > b\n\ntext')).toEqual({ depth: 2, line: 4 });
  });

  it('keeps the containers of a lazy line, and counts the lists marked reads inside it', () => {
    // marked appends a line without `>` to the quote's list and parses it there: `- - -` nests.
    const hidden = `>1.\n    ${'- '.repeat(40)}x`;
    expect(markedDepth(hidden)).toBeGreaterThan(LIMIT);
    expect(markdownNesting(hidden).depth).toBeGreaterThan(LIMIT);
    expect(markdownNesting(`${'>'.repeat(5)} a\nlazy text\n${'>'.repeat(5)} b`).depth).toBe(5);
  });

  it('does not add up Python prompts in consecutive lines of indented code', () => {
    const doctest = Array.from({ length: 40 }, (_, i) => `    >>> print(${i})`).join('\n');
    expect(markdownNesting(`Example:\n\n${doctest}`).depth).toBeLessThanOrEqual(3);
  });

  it.each([
    ['`>` × 100,000', fill('>')],
    ['`> ` × 50,000', fill('> ')],
    ['`- ` × 50,000 then text', fill('- ', 'x')],
    ['`1. ` × 33,333 then text', fill('1. ', 'x')],
    ['`> - ` × 25,000', fill('> - ')],
    ['a lazy line of markers under a quote', `>1.\n    ${fill('- ', 'x').slice(8)}`],
  ])('stops just past the limit on %s, without recursion', (_, markdown) => {
    expect(markdown.length).toBeLessThanOrEqual(BODY_LIMIT);
    expect(markdownNesting(markdown).depth).toBe(LIMIT + 1);
  });

  it.each([
    ['spaces', fill(' ')],
    ['tabs', fill('\t')],
    ['blank lines', fill('\n')],
    ['blank lines under 30 open list items', `${'- '.repeat(30)}x\n${fill('\n', '').slice(100)}`],
    ['fence lines', fill('```\n')],
    ['dashes that make one thematic break', fill('- ')],
    ['lines of 30 nested items', fill(`${'- '.repeat(30)}x\n`)],
  ])('reads 100,000 characters of %s without counting past their depth', (_, markdown) => {
    expect(markdownNesting(markdown).depth).toBeLessThanOrEqual(30);
  });

  it('counts as deep as marked reads, whatever the tabs, on 3,000 generated documents', () => {
    // Line prefixes and contents in every order: markers, spaces and tabs, fences, rules,
    // headings, lazy lines and blank lines.
    const random = seededRandom(20_260_101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const prefixes = ['', ' ', '  ', '   ', '    ', '     ', '\t', '\t\t', '> ', '>', '>\t', ' > ', '- ', '* ', '+ ', '*\t', '-\t', '1. ', '1.\t', '2) ', '10. ', '  - ', '    - '];
    const contents = ['a', 'text here', '', '```', '~~~', '---', '# h', '<div>', '- - -', '* * *', '`code`', 'b > c', '>', '-', '1.', '    code'];
    let compared = 0;
    const below: string[] = [];
    for (let n = 0; n < 3000; n++) {
      const lines = Array.from({ length: 1 + Math.floor(random() * 8) }, () => {
        let prefix = '';
        for (let k = Math.floor(random() * 7); k > 0; k--) prefix += pick(prefixes);
        return prefix + pick(contents);
      });
      const markdown = lines.join('\n');
      let real: number;
      try {
        real = markedDepth(markdown);
      } catch {
        continue; // marked fails on a few of these; rendering turns that into an error (markdown.test.ts)
      }
      compared += 1;
      const counted = markdownNesting(markdown, 100).depth;
      if (counted < real) below.push(`${counted} < ${real}: ${JSON.stringify(markdown)}`);
      expect(counted, JSON.stringify(markdown)).toBeGreaterThanOrEqual(real - 1);
    }
    expect(compared).toBeGreaterThan(2900);
    // Where a line could continue a list item or open a quote, marked and CommonMark may choose
    // differently; at most one level, rarely, which the limit's margin absorbs (marked fails past ~1,200).
    expect(below.length, below.join('\n')).toBeLessThanOrEqual(3);
  });

  it.each([
    ['tabs indenting lazy lines', (k: number) => `${'\t  '.repeat(3 * k)}${'> 1. + '.repeat(3)}x`],
    ['quotes and tabs between markers', (k: number) => `>\t${'1.\t*\t'.repeat(k)}+ ~~~`],
  ])('refuses %s that marked would nest hundreds of levels deep', (_, line) => {
    const lines: string[] = [];
    for (let k = 0, size = 0; size + line(k).length < BODY_LIMIT / 2; k++) {
      lines.push(line(k));
      size += line(k).length + 1;
    }
    const markdown = lines.join('\n');
    const real = markedDepth(markdown);
    expect(real).toBeGreaterThan(200);
    expect(markdownNesting(markdown, 10_000).depth).toBe(real);
    expect(nestingProblem(markdown)).toMatch(/at most 32 levels/);
  });
});

describe('prepareMarkdown()', () => {
  it('leaves Markdown without tabs as it is', () => {
    const markdown = '# Title\n\n> quote\n> - item\n>   - nested\n\n```js\n  code\n```\n';
    expect(prepareMarkdown(markdown)).toEqual({ text: markdown });
  });

  it('writes the tabs of the structure as spaces and keeps the tabs of code', () => {
    const markdown = '-\titem\n\t-\tnested\n\n\t```make\n\tall:\n\t\tcc -o x x.c\n\t```\n\n\t\tindented\tcode';
    expect(prepareMarkdown(markdown)).toEqual({
      text: '-   item\n    -   nested\n\n    ```make\n    all:\n    \tcc -o x x.c\n    ```\n\n        indented\tcode',
    });
  });

  it('refuses nesting past the limit, naming it', () => {
    expect(prepareMarkdown('> '.repeat(40))).toEqual({ problem: 'Blockquotes and lists may nest at most 32 levels deep; line 1 goes deeper.' });
  });
});

describe('nestingProblem()', () => {
  it('accepts the limit and refuses one more, naming the limit and the line', () => {
    expect(nestingProblem(`intro\n${'> '.repeat(LIMIT)}x`)).toBeUndefined();
    expect(nestingProblem(`intro\n${'> '.repeat(LIMIT + 1)}x`)).toBe(
      `Blockquotes and lists may nest at most ${LIMIT} levels deep; line 2 goes deeper.`,
    );
  });
});
