/**
 * How deeply a Markdown text nests blockquotes and list items, measured without parsing it.
 *
 * marked parses each blockquote and list item by calling itself, so a body of 1,900 `>` or 1,200
 * `- ` exhausts the stack (RangeError) and every page showing it fails. Readable writing nests a
 * few levels; the limit below refuses the attack long before marked is in danger.
 *
 * The measure follows CommonMark's container rules line by line: which open blockquotes and list
 * items a line continues (a `>` marker, or enough indentation), then which it opens. It keeps a
 * stack of open containers, never recurses, and stops once the limit is passed, so it is linear in
 * the text's length. Fenced code is skipped; paragraph continuation lines keep their containers
 * open. It may count markers inside raw HTML blocks, which only ever overstates the depth.
 */

/** The deepest nesting of blockquotes and list items, combined, that a post's Markdown may use. */
export const MAX_MARKDOWN_NESTING = 32;

/** The deepest point of a Markdown text: its depth (capped just above the limit asked) and its 1-based line. */
export interface Nesting {
  depth: number;
  line: number;
}

/** An open container: a blockquote, or a list item whose content starts `indent` columns in. */
type Container = { kind: 'quote' } | { kind: 'item'; indent: number };

/** An open fenced code block: its fence and how many containers hold it. */
interface Fence {
  char: string;
  length: number;
  depth: number;
}

/**
 * The deepest nesting of blockquotes and list items in `markdown` and where it is. Counting stops
 * once the depth exceeds `limit`, which keeps the work linear whatever the text.
 */
export function markdownNesting(markdown: string, limit = MAX_MARKDOWN_NESTING): Nesting {
  const deepest: Nesting = { depth: 0, line: 0 };
  const stack: Container[] = [];
  let fence: Fence | null = null;
  // Whether the previous line had text outside fenced code: only then can a line be lazy.
  let afterText = false;
  let lineNo = 0;
  for (let start = 0; start <= markdown.length; ) {
    const newline = nextNewline(markdown, start);
    const line = new Line(markdown.slice(start, newline));
    start = newline + (markdown.startsWith('\r\n', newline) ? 2 : 1);
    lineNo += 1;

    const lazy = afterText && fence === null && !line.isBlank();
    const matched = continued(line, stack, lazy);
    if (fence !== null) {
      if (matched >= fence.depth) {
        if (line.closesFence(fence)) fence = null;
        continue;
      }
      fence = null;
    }
    afterText = !line.isBlank();
    let depth: number;
    if (matched < stack.length && lazy && !line.startsBlock()) {
      // A lazy line continues a paragraph and keeps the containers it did not mark. It opens
      // none in CommonMark, but marked may read markers in it: they count here, and stay closed.
      const markers: Container[] = [];
      line.openContainers(markers, limit - stack.length);
      depth = stack.length + markers.length;
    } else {
      stack.length = matched;
      line.openContainers(stack, limit);
      depth = stack.length;
      fence = line.opensFence(stack.length);
      if (fence !== null) afterText = false;
    }
    if (depth > deepest.depth) {
      deepest.depth = depth;
      deepest.line = lineNo;
      if (depth > limit) return deepest;
    }
  }
  return deepest;
}

/** Why `markdown` nests too deeply to be published, or undefined when it does not. */
export function nestingProblem(markdown: string): string | undefined {
  const { depth, line } = markdownNesting(markdown);
  if (depth <= MAX_MARKDOWN_NESTING) return undefined;
  return `Blockquotes and lists may nest at most ${MAX_MARKDOWN_NESTING} levels deep; line ${line} goes deeper.`;
}

/**
 * How many of the open containers `line` continues, consuming their markers and indentation. On
 * a `lazy` line a blockquote continues without its marker unless a block starts there: marked
 * reads such a line as part of the quote, so the lists and quotes it holds are counted inside it.
 */
function continued(line: Line, stack: readonly Container[], lazy: boolean): number {
  let matched = 0;
  for (const container of stack) {
    if (container.kind === 'quote') {
      if (line.indentUpTo(4) < 4 && line.charAfterIndent() === '>') line.consumeQuoteMarker();
      else if (!lazy || line.startsBlock()) break;
    } else if (line.isBlank()) {
      // A blank line keeps a list item open; the next line decides.
    } else if (line.indentUpTo(container.indent) >= container.indent) {
      line.consumeColumns(container.indent);
    } else {
      break;
    }
    matched += 1;
  }
  return matched;
}

function nextNewline(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return text.length;
}

const TAB = 4;

/** One line of Markdown read from left to right: a position, its column, and a partly used tab. */
class Line {
  private pos = 0;
  private col = 0;
  /** Columns of a tab already passed over only in part (CommonMark's partial tabs). */
  private carry = 0;
  private readonly lastNonBlank: number;

  constructor(private readonly text: string) {
    let last = text.length - 1;
    while (last >= 0 && isBlankChar(text[last])) last -= 1;
    this.lastNonBlank = last;
  }

  /** Whether only spaces and tabs remain. */
  isBlank(): boolean {
    return this.pos > this.lastNonBlank;
  }

  /** Columns of indentation ahead, counted up to `max` (so a long run of spaces costs nothing). */
  indentUpTo(max: number): number {
    let width = this.carry;
    let col = this.col + this.carry;
    for (let i = this.pos; i < this.text.length && width < max; i++) {
      const c = this.text[i];
      if (c === ' ') {
        width += 1;
        col += 1;
      } else if (c === '\t') {
        const step = TAB - (col % TAB);
        width += step;
        col += step;
      } else break;
    }
    return Math.min(width, max);
  }

  /** Passes over `n` columns of indentation (the caller checked they are there). */
  consumeColumns(n: number): void {
    let left = n;
    const fromCarry = Math.min(this.carry, left);
    this.carry -= fromCarry;
    this.col += fromCarry;
    left -= fromCarry;
    while (left > 0 && this.pos < this.text.length) {
      const c = this.text[this.pos];
      const step = c === '\t' ? TAB - (this.col % TAB) : 1;
      this.pos += 1;
      if (step > left) {
        this.carry = step - left;
        this.col += left;
        return;
      }
      this.col += step;
      left -= step;
    }
  }

  /** The first character after the indentation ahead, or '' at the end of the line. */
  charAfterIndent(): string {
    let i = this.pos;
    while (i < this.text.length && isBlankChar(this.text[i])) i += 1;
    return this.text[i] ?? '';
  }

  /** Passes over the indentation, a `>` and the one column of space that may follow it. */
  consumeQuoteMarker(): void {
    this.skipBlank();
    this.pos += 1;
    this.col += 1;
    if (this.indentUpTo(1) >= 1) this.consumeColumns(1);
  }

  /**
   * Opens the blockquotes and list items whose markers start the rest of the line, until past
   * `limit`. The first marker must be indented less than 4 columns (more is indented code); the
   * ones after it are counted whatever the space between, because marked measures tabs from
   * another origin than CommonMark and may read a marker where CommonMark sees code.
   */
  openContainers(stack: Container[], limit: number): void {
    for (let first = true; stack.length <= limit; first = false) {
      if (first && this.indentUpTo(4) >= 4) return;
      const at = this.pos + this.blankCharsAhead();
      if (this.text[at] === '>') {
        this.consumeQuoteMarker();
        stack.push({ kind: 'quote' });
        continue;
      }
      const width = this.listMarkerWidth(at);
      if (width === 0) return;
      const origin = this.col;
      const indent = this.skipBlank();
      this.pos += width;
      this.col += width;
      // The content starts after 1 to 4 columns; 5 or more mean indented code after one. Of
      // CommonMark's tab stops and marked's (counted from the item), the narrower gap is kept,
      // so every line either parser continues the item with is continued here.
      const gap = Math.min(this.contentGap(0), this.contentGap(origin));
      this.consumeColumns(Math.min(gap, this.indentUpTo(gap)));
      stack.push({ kind: 'item', indent: indent + width + gap });
      if (this.isBlank()) return;
    }
  }

  /** Columns between a list marker and its content, with tab stops counted from column `origin`. */
  private contentGap(origin: number): number {
    if (this.isBlank()) return 1;
    let width = this.carry;
    let col = this.col + this.carry;
    for (let i = this.pos; i < this.text.length && width < 5; i++) {
      const c = this.text[i];
      if (c !== ' ' && c !== '\t') break;
      const step = c === '\t' ? TAB - ((col - origin) % TAB) : 1;
      width += step;
      col += step;
    }
    return width >= 5 ? 1 : width;
  }

  /** Whether the rest of the line starts a block that cannot continue a paragraph lazily. */
  startsBlock(): boolean {
    if (this.indentUpTo(4) >= 4) return false;
    const at = this.pos + this.blankCharsAhead();
    const c = this.text[at];
    if (c === '>' || c === '#' || this.listMarkerWidth(at) > 0) return true;
    return this.fenceAt(at) !== null || this.isThematicBreak(at);
  }

  /** The fence this line opens inside `depth` containers, or null. */
  opensFence(depth: number): Fence | null {
    if (this.indentUpTo(4) >= 4) return null;
    const found = this.fenceAt(this.pos + this.blankCharsAhead());
    return found === null ? null : { ...found, depth };
  }

  /** Whether the rest of the line closes `fence`: the same character, at least as many, nothing after. */
  closesFence(fence: Fence): boolean {
    if (this.indentUpTo(4) >= 4) return false;
    let i = this.pos + this.blankCharsAhead();
    const from = i;
    while (this.text[i] === fence.char) i += 1;
    return i - from >= fence.length && i > this.lastNonBlank;
  }

  private fenceAt(at: number): { char: string; length: number } | null {
    const char = this.text[at];
    if (char !== '`' && char !== '~') return null;
    let i = at;
    while (this.text[i] === char) i += 1;
    if (i - at < 3) return null;
    // A backtick fence's info string may not hold a backtick (that would be inline code).
    if (char === '`' && this.text.indexOf('`', i) !== -1) return null;
    return { char, length: i - at };
  }

  /** Width of the list marker at `at` (`-`, `+`, `*`, or 1–9 digits and `.` or `)`), 0 if none. */
  private listMarkerWidth(at: number): number {
    const c = this.text[at];
    let end = at;
    if (c === '-' || c === '+' || c === '*') {
      end = at + 1;
    } else {
      while (end - at < 9 && isDigit(this.text[end])) end += 1;
      if (end === at || (this.text[end] !== '.' && this.text[end] !== ')')) return 0;
      end += 1;
    }
    const after = this.text[end];
    if (after !== undefined && !isBlankChar(after)) return 0;
    if ((c === '-' || c === '*') && this.isThematicBreak(at)) return 0;
    return end - at;
  }

  /** Whether the text from `at` is a thematic break: 3 or more of one of `-*_`, spaces between. */
  private isThematicBreak(at: number): boolean {
    const c = this.text[at];
    if (c !== '-' && c !== '*' && c !== '_') return false;
    let count = 0;
    for (let i = at; i <= this.lastNonBlank; i++) {
      const d = this.text[i];
      if (d === c) count += 1;
      else if (!isBlankChar(d)) return false;
    }
    return count >= 3;
  }

  private blankCharsAhead(): number {
    let i = this.pos;
    while (i < this.text.length && isBlankChar(this.text[i])) i += 1;
    return i - this.pos;
  }

  /** Passes over all the spaces and tabs ahead and returns how many columns they span. */
  private skipBlank(): number {
    let width = this.carry;
    this.col += this.carry;
    this.carry = 0;
    while (this.pos < this.text.length && isBlankChar(this.text[this.pos])) {
      const step = this.text[this.pos] === '\t' ? TAB - (this.col % TAB) : 1;
      this.col += step;
      width += step;
      this.pos += 1;
    }
    return width;
  }
}

function isBlankChar(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
