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

function scan(text: string): { at: number; reason: string } | undefined {
  const n = text.length;
  const stack: ('[' | '{')[] = [];
  let i = 0;
  let expectValue = true;
  const skipWhitespace = () => {
    while (i < n && WHITESPACE.has(text[i])) i++;
  };
  const fail = (reason: string) => ({ at: i, reason });

  /** Reads the string starting at `i`; an error, or undefined once past its closing quote. */
  const readString = (): { at: number; reason: string } | undefined => {
    const start = i;
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return fail('invalid \\u escape (expected 4 hex digits)');
          i += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next)) return fail('invalid escape in a string');
        i += 2;
        continue;
      }
      if (c < ' ') return fail(c === '\n' ? 'unterminated string (a line break inside quotes; write \\n)' : 'control character inside a string');
      i++;
    }
    return { at: start, reason: 'unterminated string' };
  };

  /** Reads `"key" :` of an object member at `i`. */
  const readKey = (): { at: number; reason: string } | undefined => {
    if (text[i] !== '"') return fail(i >= n ? 'unexpected end of file, expected a property name' : 'expected a property name in double quotes');
    const bad = readString();
    if (bad) return bad;
    skipWhitespace();
    if (text[i] !== ':') return fail("expected ':' after the property name");
    i++;
    return undefined;
  };

  for (;;) {
    skipWhitespace();
    if (expectValue) {
      if (i >= n) return fail('unexpected end of file, expected a value');
      const c = text[i];
      if (c === '{' || c === '[') {
        i++;
        skipWhitespace();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          expectValue = false;
          continue;
        }
        stack.push(c);
        if (c === '{') {
          const bad = readKey();
          if (bad) return bad;
        }
        continue;
      }
      if (c === '"') {
        const bad = readString();
        if (bad) return bad;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const match = NUMBER.exec(text);
        if (match === null) return fail('invalid number');
        i += match[0].length;
      } else {
        const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
        if (literal === undefined) {
          if (c === ']' || c === '}') return fail(`unexpected '${c}' (a trailing comma, or a missing value)`);
          return fail(`unexpected character ${JSON.stringify(c)}`);
        }
        i += literal.length;
      }
      expectValue = false;
      continue;
    }
    const top = stack.at(-1);
    if (top === undefined) return i < n ? fail('unexpected text after the end of the JSON value') : undefined;
    const close = top === '{' ? '}' : ']';
    if (i >= n) return fail(`unexpected end of file, expected ',' or '${close}'`);
    if (text[i] === close) {
      stack.pop();
      i++;
      continue;
    }
    if (text[i] !== ',') return fail(top === '{' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array element");
    i++;
    skipWhitespace();
    if (top === '{') {
      const bad = readKey();
      if (bad) return bad;
    }
    expectValue = true;
  }
}
