import type { NunjucksLexer, NunjucksParser, NunjucksTokenizer } from './parser-types.ts';

/**
 * Finds whether a tag sits inside a construct Nunjucks runs synchronously: a `macro`, a
 * `call` block, a `filter` block or a block `set`. Nunjucks compiles those into plain functions
 * that return their output at once, so an asynchronous tag inside them renders nothing and the
 * rest of the construct is lost without any error (nunjucks issues #1252, #1320; its docs: "you
 * cannot do anything asynchronous inside macros"). The parser keeps no stack of open tags, so the
 * source before the tag is lexed again with the same delimiters and the open constructs counted.
 */

const SYNC_BLOCKS = new Set(['macro', 'call', 'filter', 'set']);
const RAW_BLOCKS = new Set(['raw', 'verbatim']);

function significant(stream: NunjucksTokenizer, lexer: NunjucksLexer) {
  let tok = stream.nextToken();
  while (tok && tok.type === lexer.TOKEN_WHITESPACE) tok = stream.nextToken();
  return tok;
}

/** Whether the rest of a `set` statement has no `=`, i.e. it opens a `set … endset` block. */
function isBlockSet(stream: NunjucksTokenizer, lexer: NunjucksLexer): boolean {
  for (let tok = stream.nextToken(); tok; tok = stream.nextToken()) {
    if (tok.type === lexer.TOKEN_BLOCK_END) return true;
    if (tok.type === lexer.TOKEN_OPERATOR && tok.value === '=') return false;
  }
  return false;
}

/**
 * The innermost synchronous construct open at the parser's position (`macro`, `call`, `filter`
 * or `set`), or undefined when there is none.
 */
export function enclosingSyncBlock(parser: NunjucksParser, lexer: NunjucksLexer): string | undefined {
  const { str, index, tags, trimBlocks, lstripBlocks } = parser.tokens;
  const stream = lexer.lex(str.slice(0, index), {
    tags: {
      blockStart: tags.BLOCK_START,
      blockEnd: tags.BLOCK_END,
      variableStart: tags.VARIABLE_START,
      variableEnd: tags.VARIABLE_END,
      commentStart: tags.COMMENT_START,
      commentEnd: tags.COMMENT_END,
    },
    trimBlocks,
    lstripBlocks,
  });
  const open: string[] = [];
  let raw: string | undefined;
  try {
    for (let tok = stream.nextToken(); tok; tok = stream.nextToken()) {
      if (tok.type !== lexer.TOKEN_BLOCK_START) continue;
      const name = significant(stream, lexer);
      if (!name || name.type !== lexer.TOKEN_SYMBOL) continue;
      const word = name.value;
      if (raw !== undefined) {
        if (word === `end${raw}`) raw = undefined;
      } else if (RAW_BLOCKS.has(word)) {
        raw = word;
      } else if (word === 'set') {
        if (isBlockSet(stream, lexer)) open.push('set');
      } else if (SYNC_BLOCKS.has(word)) {
        open.push(word);
      } else if (word.startsWith('end') && SYNC_BLOCKS.has(word.slice(3))) {
        const at = open.lastIndexOf(word.slice(3));
        if (at >= 0) open.splice(at, 1);
      }
    }
  } catch {
    // The parser itself reports malformed source; detection only ever adds an error.
    return undefined;
  }
  return open.at(-1);
}
