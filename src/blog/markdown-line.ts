/**
 * One line of Markdown read from left to right, for measuring how deeply it nests (see
 * markdown-nesting.ts): container markers, indentation, fences. Columns follow CommonMark: a tab
 * advances to the next multiple of 4, and a tab passed over only in part leaves its remaining
 * columns as spaces.
 */

/** An open container: a blockquote, or a list item whose content starts `indent` columns in. */
export type Container = { kind: 'quote' } | { kind: 'item'; indent: number };

/** An open fenced code block: its fence and how many containers hold it. */
export interface Fence {
  char: string;
  length: number;
  depth: number;
}

const TAB = 4;

/** A line of Markdown and a cursor in it. */
export class MarkdownLine {
  private pos = 0;
  private col = 0;
  /** Columns left of the tab before `pos`, passed over only in part. */
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

  /** Passes over `n` columns of indentation if there are that many; says whether it did. */
  consumeIndent(n: number): boolean {
    if (this.indentUpTo(n) < n) return false;
    this.consumeColumns(n);
    return true;
  }

  /** Whether a `>` follows less than 4 columns of indentation; if so, passes over it and one column after it. */
  consumeQuoteMarker(): boolean {
    if (this.indentUpTo(4) >= 4 || this.text[this.afterBlanks()] !== '>') return false;
    this.consumeColumns(this.indentUpTo(4));
    this.pos += 1;
    this.col += 1;
    if (this.indentUpTo(1) === 1) this.consumeColumns(1);
    return true;
  }

  /** Opens the blockquotes and list items whose markers start the rest of the line, onto `stack` until it holds more than `limit`. */
  openContainers(stack: Container[], limit: number): void {
    while (stack.length <= limit) {
      if (this.consumeQuoteMarker()) {
        stack.push({ kind: 'quote' });
        continue;
      }
      const before = this.indentUpTo(4);
      const width = before < 4 ? this.listMarkerWidth(this.afterBlanks()) : 0;
      if (width === 0) return;
      this.consumeColumns(before);
      this.pos += width;
      this.col += width;
      // The content starts after 1 to 4 columns; 5 or more mean indented code after one column.
      const spaces = this.isBlank() ? 1 : this.indentUpTo(5);
      const gap = spaces >= 5 ? 1 : spaces;
      this.consumeColumns(gap);
      stack.push({ kind: 'item', indent: before + width + gap });
      if (this.isBlank()) return;
    }
  }

  /** Whether the rest of the line starts a block, so that it cannot continue a paragraph lazily. */
  startsBlock(): boolean {
    if (this.indentUpTo(4) >= 4) return false;
    const at = this.afterBlanks();
    const c = this.text[at];
    if (c === '>' || c === '#' || this.listMarkerWidth(at) > 0) return true;
    return this.fenceAt(at) !== null || this.isThematicBreak(at);
  }

  /** The fence this line opens inside `depth` containers, or null. */
  opensFence(depth: number): Fence | null {
    if (this.indentUpTo(4) >= 4) return null;
    const found = this.fenceAt(this.afterBlanks());
    return found === null ? null : { ...found, depth };
  }

  /** Whether the rest of the line closes `fence`: the same character, at least as many, nothing after. */
  closesFence(fence: Fence): boolean {
    if (this.indentUpTo(4) >= 4) return false;
    let i = this.afterBlanks();
    const from = i;
    while (this.text[i] === fence.char) i += 1;
    return i - from >= fence.length && i > this.lastNonBlank;
  }

  /** Whether the rest of the line is indented 4 columns or more (indented code, or a paragraph's continuation). */
  restIndented(): boolean {
    return !this.isBlank() && this.indentUpTo(4) >= 4;
  }

  /**
   * The line with the tabs of its structure written as spaces, so that any parser reads the
   * columns it was measured by: the tabs before the cursor, and of the indentation after it none
   * (code in a fence), the 4 columns that make indented code, or all of it.
   */
  withStructureSpaced(rest: 'none' | 'code' | 'all'): string {
    let end = this.pos;
    for (let col = this.col + this.carry; rest !== 'none' && end < this.text.length && isBlankChar(this.text[end]); end++) {
      if (rest === 'code' && col - this.col >= TAB) break;
      col += this.text[end] === '\t' ? TAB - (col % TAB) : 1;
    }
    const firstTab = this.text.indexOf('\t');
    if (firstTab === -1 || firstTab >= end) return this.text;
    let spaced = '';
    for (let i = 0; i < end; i++) {
      spaced += this.text[i] === '\t' ? ' '.repeat(TAB - (spaced.length % TAB)) : this.text[i];
    }
    return spaced + this.text.slice(end);
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
    let end = at + 1;
    if (c !== '-' && c !== '+' && c !== '*') {
      end = at;
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

  /** Columns of indentation ahead, counted up to `max`. */
  private indentUpTo(max: number): number {
    let width = this.carry;
    let col = this.col + this.carry;
    for (let i = this.pos; i < this.text.length && width < max && isBlankChar(this.text[i]); i++) {
      const step = this.text[i] === '\t' ? TAB - (col % TAB) : 1;
      width += step;
      col += step;
    }
    return Math.min(width, max);
  }

  /** Passes over `n` columns of indentation (the caller checked they are there). */
  private consumeColumns(n: number): void {
    let left = n;
    const fromCarry = Math.min(this.carry, left);
    this.carry -= fromCarry;
    this.col += fromCarry;
    left -= fromCarry;
    while (left > 0 && this.pos < this.text.length) {
      const step = this.text[this.pos] === '\t' ? TAB - (this.col % TAB) : 1;
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

  private afterBlanks(): number {
    let i = this.pos;
    while (i < this.text.length && isBlankChar(this.text[i])) i += 1;
    return i;
  }
}

function isBlankChar(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
