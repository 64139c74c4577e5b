/**
 * The few members of Nunjucks 3's undocumented parser, lexer and node API that the fragment tag
 * uses (its type definitions declare them as `any`). Checked against nunjucks 3.2.4.
 */

/** A lexer token; `lineno` and `colno` are 0-based. */
export interface NunjucksToken {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}

/** The delimiters a tokenizer was configured with. */
export interface NunjucksTagDelimiters {
  BLOCK_START: string;
  BLOCK_END: string;
  VARIABLE_START: string;
  VARIABLE_END: string;
  COMMENT_START: string;
  COMMENT_END: string;
}

/** A token stream over a template's source. */
export interface NunjucksTokenizer {
  /** The whole source being parsed. */
  str: string;
  /** How far the stream has read. */
  index: number;
  tags: NunjucksTagDelimiters;
  trimBlocks: boolean;
  lstripBlocks: boolean;
  nextToken(): NunjucksToken | null;
}

/** An AST node list (arguments, bodies). */
export interface NunjucksNodeList {
  children: unknown[];
}

/** The parser handed to an extension's `parse`. */
export interface NunjucksParser {
  tokens: NunjucksTokenizer;
  nextToken(): NunjucksToken | null;
  parseSignature(tolerant: null, noParens: boolean): NunjucksNodeList;
  advanceAfterBlockEnd(name?: string): void;
  parseUntilBlocks(...names: string[]): unknown;
  fail(message: string, lineno?: number, colno?: number): never;
}

/** A node class made with Nunjucks' `extend`, which names its `typename`. */
export interface NunjucksNodeClass {
  new (lineno: number, colno: number, value?: unknown): { value: unknown };
  extend(typename: string): NunjucksNodeClass;
}

/** The node module handed to an extension's `parse`. */
export interface NunjucksNodes {
  Literal: NunjucksNodeClass;
  /** The node holding `name=value` arguments, last among a signature's children. */
  KeywordArgs: new (lineno: number, colno: number) => object;
  CallExtensionAsync: new (extension: object, method: string, args: NunjucksNodeList, contentArgs: unknown[]) => unknown;
}

/** The lexer module handed to an extension's `parse`. */
export interface NunjucksLexer {
  lex(
    source: string,
    options: {
      tags: {
        blockStart: string;
        blockEnd: string;
        variableStart: string;
        variableEnd: string;
        commentStart: string;
        commentEnd: string;
      };
      trimBlocks: boolean;
      lstripBlocks: boolean;
    },
  ): NunjucksTokenizer;
  TOKEN_BLOCK_START: string;
  TOKEN_BLOCK_END: string;
  TOKEN_SYMBOL: string;
  TOKEN_WHITESPACE: string;
  TOKEN_OPERATOR: string;
}
