/** Where a JSON text stops being valid, and why. Line and column count from 1. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/**
 * The first syntax error in `text` with its line and column, or undefined when it is valid
 * JSON. For messages only, after `JSON.parse` failed: V8's own message gives at most an offset,
 * and for some errors none. Iterative, so deep nesting cannot overflow the stack.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const found = scan(text);
  if (found === undefined) return undefined;
  const before = text.slice(0, found.at);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: found.at - lineStart + 1, reason: found.reason };
}

type Found = { at: number; reason: string };

function scan(text: string): Found | undefined {
  return new JsonScanner(text).scan();
}

/** A single left-to-right pass over a JSON text with an explicit stack of open containers. */
class JsonScanner {
  private readonly n: number;
  private readonly stack: ('[' | '{')[] = [];
  private i = 0;

  constructor(private readonly text: string) {
    this.n = text.length;
  }

  scan(): Found | undefined {
    let expectValue = true;
    for (;;) {
      this.skipWhitespace();
      const step: Found | undefined | 'value' | 'separator' = expectValue ? this.value() : this.afterValue();
      if (step !== 'value' && step !== 'separator') return step;
      expectValue = step === 'separator';
    }
  }

  /** Reads a value (or opens a container); 'value' once one is complete, 'separator' when a container opened and awaits its first value. */
  private value(): Found | 'value' | 'separator' {
    const { text } = this;
    if (this.i >= this.n) return this.fail('unexpected end of file, expected a value');
    const c = text[this.i];
    if (c === '{' || c === '[') return this.open(c);
    if (c === '"') return this.string() ?? 'value';
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = this.i;
      const match = NUMBER.exec(text);
      if (match === null) return this.fail('invalid number');
      this.i += match[0].length;
      return 'value';
    }
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, this.i));
    if (literal === undefined) {
      if (c === ']' || c === '}') return this.fail(`unexpected '${c}' (a trailing comma, or a missing value)`);
      return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
    this.i += literal.length;
    return 'value';
  }

  private open(c: '{' | '['): Found | 'value' | 'separator' {
    this.i++;
    this.skipWhitespace();
    if (this.text[this.i] === (c === '{' ? '}' : ']')) {
      this.i++;
      return 'value';
    }
    this.stack.push(c);
    if (c === '{') return this.key() ?? 'separator';
    return 'separator';
  }

  /** After a value: the end, a closing bracket, or a comma (then the next key of an object). */
  private afterValue(): Found | undefined | 'value' | 'separator' {
    const top = this.stack.at(-1);
    if (top === undefined) return this.i < this.n ? this.fail('unexpected text after the end of the JSON value') : undefined;
    const close = top === '{' ? '}' : ']';
    if (this.i >= this.n) return this.fail(`unexpected end of file, expected ',' or '${close}'`);
    if (this.text[this.i] === close) {
      this.stack.pop();
      this.i++;
      return 'value';
    }
    if (this.text[this.i] !== ',') return this.fail(top === '{' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array element");
    this.i++;
    this.skipWhitespace();
    if (top === '{') return this.key() ?? 'separator';
    return 'separator';
  }

  /** Reads the string starting at `i`; an error, or undefined once past its closing quote. */
  private string(): Found | undefined {
    const { text } = this;
    const start = this.i;
    this.i++;
    while (this.i < this.n) {
      const c = text[this.i];
      if (c === '"') {
        this.i++;
        return undefined;
      }
      if (c === '\\') {
        const next = text[this.i + 1];
        if (next === 'u') {
          HEX4.lastIndex = this.i + 2;
          if (!HEX4.test(text)) return this.fail('invalid \\u escape (expected 4 hex digits)');
          this.i += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next)) return this.fail('invalid escape in a string');
        this.i += 2;
        continue;
      }
      if (c < ' ') return this.fail(c === '\n' ? 'unterminated string (a line break inside quotes; write \\n)' : 'control character inside a string');
      this.i++;
    }
    return { at: start, reason: 'unterminated string' };
  }

  /** Reads `"key" :` of an object member at `i`. */
  private key(): Found | undefined {
    if (this.text[this.i] !== '"') return this.fail(this.i >= this.n ? 'unexpected end of file, expected a property name' : 'expected a property name in double quotes');
    const bad = this.string();
    if (bad) return bad;
    this.skipWhitespace();
    if (this.text[this.i] !== ':') return this.fail("expected ':' after the property name");
    this.i++;
    return undefined;
  }

  private skipWhitespace(): void {
    while (this.i < this.n && WHITESPACE.has(this.text[this.i])) this.i++;
  }

  private fail(reason: string): Found {
    return { at: this.i, reason };
  }
}
