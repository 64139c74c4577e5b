/**
 * How deeply a Markdown text nests blockquotes and list items, measured without parsing it.
 *
 * marked parses each blockquote and list item by calling itself, so a body of 1,900 `>` or 1,200
 * `- ` exhausts the stack (RangeError) and every page showing it fails. Readable writing nests a
 * few levels; the limit below refuses the attack long before marked is in danger.
 *
 * The measure follows CommonMark's container rules line by line: which open blockquotes and list
 * items a line continues (a `>` marker, or enough indentation), then which it opens. Where marked
 * reads differently it takes the reading that nests deeper: marked parses a lazy line (one that
 * continues a paragraph without its container's marker or indentation) inside the container, so
 * the markers such a line holds are counted there. Tabs are the other difference (marked counts
 * tab stops from the container, CommonMark from the line's start), so the Markdown given to
 * marked has the tabs of its structure written as spaces ({@link prepareMarkdown}): both then read
 * the same columns. The measure keeps a stack of open containers, never recurses, and stops once
 * the limit is passed, so it is linear in the text's length. Fenced code is skipped.
 */
import { MarkdownLine, type Container, type Fence } from './markdown-line.ts';

/** The deepest nesting of blockquotes and list items, combined, that a post's Markdown may use. */
export const MAX_MARKDOWN_NESTING = 32;

/** The deepest point of a Markdown text: its depth (capped just above the limit asked) and its 1-based line. */
export interface Nesting {
  depth: number;
  line: number;
}

/**
 * The deepest nesting of blockquotes and list items in `markdown` and where it is. Counting stops
 * once the depth exceeds `limit`, which keeps the work linear whatever the text.
 */
export function markdownNesting(markdown: string, limit = MAX_MARKDOWN_NESTING): Nesting {
  return walk(markdown, limit);
}

/** Why `markdown` nests too deeply to be published, or undefined when it does not. */
export function nestingProblem(markdown: string): string | undefined {
  return problemOf(markdownNesting(markdown));
}

/**
 * `markdown` ready for marked: refused (`problem`) when it nests past `limit`, else its `text`
 * with the tabs of its structure written as spaces (tabs inside code are kept).
 */
export function prepareMarkdown(markdown: string, limit = MAX_MARKDOWN_NESTING): { text: string; problem?: undefined } | { problem: string } {
  const lines: string[] = [];
  const problem = problemOf(walk(markdown, limit, (line) => lines.push(line)), limit);
  return problem === undefined ? { text: lines.join('\n') } : { problem };
}

function problemOf({ depth, line }: Nesting, limit = MAX_MARKDOWN_NESTING): string | undefined {
  if (depth <= limit) return undefined;
  return `Blockquotes and lists may nest at most ${limit} levels deep; line ${line} goes deeper.`;
}

/** Measures `markdown` line by line, handing each line with its structure spaced to `spaced`. */
function walk(markdown: string, limit: number, spaced?: (line: string) => void): Nesting {
  const deepest: Nesting = { depth: 0, line: 0 };
  const stack: Container[] = [];
  let fence: Fence | null = null;
  let afterText = false;
  let lineNo = 0;
  for (let start = 0; start <= markdown.length; ) {
    const end = lineEnd(markdown, start);
    const line = new MarkdownLine(markdown.slice(start, end));
    start = end + (markdown.startsWith('\r\n', end) ? 2 : 1);
    lineNo += 1;

    // Only a line right after text can be lazy.
    const lazy = afterText && !line.isBlank();
    afterText = !line.isBlank();
    const { matched, lazily } = continued(line, stack, lazy);
    if (fence !== null) {
      // marked ends a fence inside a container at a lazy line, and reads on outside it.
      if (matched >= fence.depth && !lazily) {
        if (line.closesFence(fence)) fence = null;
        spaced?.(line.withStructureSpaced('none'));
        continue;
      }
      fence = null;
    }
    let depth: number;
    if (matched < stack.length && lazy && !line.startsBlock()) {
      // A lazy line keeps the containers it did not mark, and opens none in CommonMark; marked
      // may read markers in it all the same, so they count here without being kept open.
      const markers: Container[] = [];
      line.openContainers(markers, limit - stack.length);
      depth = stack.length + markers.length;
      spaced?.(line.withStructureSpaced('all'));
    } else {
      stack.length = matched;
      line.openContainers(stack, limit);
      depth = stack.length;
      fence = line.opensFence(stack.length);
      spaced?.(line.withStructureSpaced(line.restIndented() ? 'code' : 'all'));
    }
    if (depth > deepest.depth) {
      deepest.depth = depth;
      deepest.line = lineNo;
      if (depth > limit) return deepest;
    }
  }
  return deepest;
}

/**
 * How many of the open containers `line` continues, consuming their markers and indentation (a
 * blank line keeps a list item open: the next line decides). On a `lazy` line a container lacking
 * its marker or indentation continues anyway unless a block starts there (`lazily`): marked
 * appends such a line to the container's text as it stands and parses it there.
 */
function continued(line: MarkdownLine, stack: readonly Container[], lazy: boolean): { matched: number; lazily: boolean } {
  let matched = 0;
  let lazily = false;
  for (const container of stack) {
    const marked = container.kind === 'quote' ? line.consumeQuoteMarker() : line.isBlank() || line.consumeIndent(container.indent);
    if (!marked && (!lazy || line.startsBlock())) break;
    lazily ||= !marked;
    matched += 1;
  }
  return { matched, lazily };
}

function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}
