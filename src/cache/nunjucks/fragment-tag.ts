import { isAbsolute, relative, sep } from 'node:path';
import nunjucks from 'nunjucks';
import type { Cache } from '../cache.ts';
import { fragmentKey, positionalFragmentKey } from '../keys.ts';
import type { GetOptions, Seconds } from '../types.ts';
import type { NunjucksLexer, NunjucksNodeList, NunjucksNodes, NunjucksParser } from './parser-types.ts';
import { renderStateOf, type RenderState } from './render.ts';
import { enclosingSyncBlock } from './sync-blocks.ts';
import { templateNameNode } from './template-name.ts';

/** How the tag's body is handed to `run`: call it with a callback to render it. */
type Body = (callback: (error: unknown, output?: unknown) => void) => unknown;
type Callback = (error: unknown, result?: unknown) => void;

/** What a tag asks for, once its arguments are read. */
interface FragmentCall {
  key: string;
  /** `undefined` = the cache's default timeout. */
  timeout: Seconds | 'del' | undefined;
  tags: readonly string[] | undefined;
  events: GetOptions;
}

/** A template name as shown in keys and events: relative to the working directory when under it. */
export function templateLabel(name: string | undefined): string {
  if (name === undefined) return '(string)';
  if (!isAbsolute(name)) return name;
  const rel = relative(process.cwd(), name);
  return rel.startsWith('..') || isAbsolute(rel) ? name : rel.split(sep).join('/');
}

/**
 * The `<% cache %>` fragment tag, an asynchronous Nunjucks extension:
 *
 * ```
 * <% cache timeout[, "name"[, vary…]][, tags=["…"]] %> … <% endcache %>
 * ```
 *
 * `timeout` is seconds, `none` for the cache's default, or `"del"` to delete the fragment and
 * render the body uncached. A named fragment is stored under `fragmentKey(name, [vary…])`, so code
 * can delete it; an unnamed one (no name or `none`) under its template and position. The cached
 * HTML is returned as safe markup. Templates must be rendered asynchronously (with a callback).
 *
 * @example
 * env.addExtension('FragmentCache', new FragmentCacheExtension(cache));
 * // <% cache 600, "sidebar" %>…<% endcache %>   then, after a write: cache.delete(fragmentKey('sidebar', []))
 */
export class FragmentCacheExtension {
  /** The block tag this extension parses. */
  readonly tags = ['cache'];
  /** Literal names of the tags being parsed around the current one, to refuse a fragment inside itself. */
  private readonly parsing: string[] = [];

  constructor(private readonly cache: Cache) {
    if (!cache || typeof cache.getOrSet !== 'function') throw new TypeError('FragmentCacheExtension: a Cache is required');
  }

  /** Parses `cache … endcache` into an asynchronous call of {@link FragmentCacheExtension.run}. */
  parse(parser: NunjucksParser, nodes: NunjucksNodes, lexer: NunjucksLexer): unknown {
    const tok = parser.nextToken();
    if (!tok) return parser.fail('cache: unexpected end of template');
    const { BLOCK_START: open, BLOCK_END: close } = parser.tokens.tags;
    const enclosing = enclosingSyncBlock(parser, lexer);
    if (enclosing !== undefined) {
      parser.fail(
        `${open} cache ${close} cannot be used inside ${open} ${enclosing} ${close}: Nunjucks renders macros, ` +
          `call, filter and set blocks synchronously, so an asynchronous tag there would silently output nothing. ` +
          `Put the cache tag around the place the ${enclosing} is used instead.`,
        tok.lineno,
        tok.colno,
      );
    }
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tok.value);
    const name = literalName(args, nodes);
    if (name !== undefined && this.parsing.includes(name)) {
      parser.fail(`${open} cache ${close} "${name}" is nested inside itself (same key), which can never finish`, tok.lineno, tok.colno);
    }
    if (name !== undefined) this.parsing.push(name);
    let body: unknown;
    try {
      body = parser.parseUntilBlocks('endcache');
    } finally {
      if (name !== undefined) this.parsing.pop();
    }
    parser.advanceAfterBlockEnd();
    if (args.children.length === 0) {
      parser.fail(`${open} cache ${close} needs a timeout: seconds, none or "del"`, tok.lineno, tok.colno);
    }
    const line = tok.lineno + 1;
    const column = tok.colno + 1;
    args.children.unshift(
      templateNameNode(nodes, tok.lineno, tok.colno),
      new nodes.Literal(tok.lineno, tok.colno, line),
      new nodes.Literal(tok.lineno, tok.colno, column),
    );
    return new nodes.CallExtensionAsync(this, 'run', args, [body]);
  }

  /** Renders one tag: `(context, template, line, column, timeout, name?, ...vary, [kwargs], body, callback)`. */
  run(context: unknown, ...args: unknown[]): void {
    const callback = args.pop();
    const body = args.pop();
    if (typeof callback !== 'function' || typeof body !== 'function') {
      throw new Error('the cache tag must be rendered asynchronously: call render() with a callback');
    }
    const state = renderStateOf(context);
    const finished = state?.tagStarted() ?? (() => {});
    const deliver = once((error, result) => {
      finished();
      Reflect.apply(callback, undefined, [error, result]);
    });
    let call: FragmentCall;
    try {
      call = this.read(args);
    } catch (error) {
      return deliver(error);
    }
    const renderInto: Body = (done) => Reflect.apply(body, undefined, [done]);
    this.fragment(call, renderInto, state).then(
      (html) => deliver(null, new nunjucks.runtime.SafeString(html)),
      (error: unknown) => deliver(error),
    );
  }

  private read(args: readonly unknown[]): FragmentCall {
    const [template, line, column, ...user] = args;
    const label = templateLabel(typeof template === 'string' ? template : undefined);
    const where = `${label}:${String(line)}`;
    // Keyword arguments (`tags=[…]`) arrive as one object after the positional ones.
    const keywords = user.length > 1 ? keywordArgs(user[user.length - 1]) : undefined;
    const [timeoutArg, name, ...varyOn] = keywords ? user.slice(0, -1) : user;
    if (name !== undefined && name !== null && (typeof name !== 'string' || name === '')) {
      throw new TypeError(`cache tag at ${where}: the fragment name must be a non-empty string or none`);
    }
    let key: string;
    try {
      key = typeof name === 'string' ? fragmentKey(name, varyOn) : positionalFragmentKey(label, Number(line), Number(column), varyOn);
    } catch (error) {
      // A vary value with no stable form (a function, a class instance without cacheId/toJSON).
      throw new TypeError(`cache tag at ${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return {
      key,
      timeout: readTimeout(timeoutArg, where),
      tags: readTags(keywords, where),
      events: { origin: 'fragment', detail: where },
    };
  }

  private async fragment(call: FragmentCall, body: Body, state: RenderState | undefined): Promise<string> {
    if (call.timeout === 'del') {
      await this.cache.delete(call.key, call.events);
      return renderBody(body);
    }
    // This render is computing the same key already: the tag sits inside its own body (through
    // an include, or with vary values that came out equal) or beside itself in a parallel loop.
    // Joining that computation would wait for itself, so this one is rendered uncached.
    if (state?.isComputing(call.key)) return renderBody(body);
    const options = {
      ...call.events,
      ...(call.timeout === undefined ? {} : { timeout: call.timeout }),
      ...(call.tags === undefined ? {} : { tags: call.tags }),
      shouldCache: (value: unknown) => typeof value === 'string',
    };
    const compute = () => (state ? state.computingFragment(call.key, () => renderBody(body)) : renderBody(body));
    const value: unknown = await this.cache.getOrSet<string>(call.key, compute, options);
    if (typeof value === 'string') return value;
    // Something other than a fragment sits under the key: render and overwrite it.
    return this.cache.getOrSet<string>(call.key, compute, { ...options, forcedUpdate: () => true });
  }
}

/** Renders a tag's body through Nunjucks' callback, whether it finishes at once or later. */
function renderBody(body: Body): Promise<string> {
  return new Promise((resolve, reject) => {
    try {
      body((error, output) => (error ? reject(error) : resolve(output === undefined || output === null ? '' : String(output))));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Calls Nunjucks' continuation once. The continuation runs the rest of the template
 * synchronously and nothing above it catches, so an error thrown by it is handed back through
 * the same callback, which passes errors straight to the render's callback.
 */
function once(callback: Callback): Callback {
  let called = false;
  return (error, result) => {
    if (called) return;
    called = true;
    try {
      callback(error, result);
    } catch (thrown) {
      try {
        callback(thrown);
      } catch {
        // The render has already failed and reported; nothing is left to tell.
      }
    }
  };
}

/** The fragment name of a tag whose key is a literal name alone (no vary values), if it is one. */
function literalName(args: NunjucksNodeList, nodes: NunjucksNodes): string | undefined {
  const positional = args.children.filter((child) => !(child instanceof nodes.KeywordArgs));
  if (positional.length !== 2) return undefined;
  const name = positional[1];
  return name instanceof nodes.Literal && typeof name.value === 'string' ? name.value : undefined;
}

function keywordArgs(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || !('__keywords' in value) || value.__keywords !== true) return undefined;
  return Object.fromEntries(Object.entries(value));
}

function readTimeout(value: unknown, where: string): Seconds | 'del' | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === 'del') return 'del';
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new TypeError(`cache tag at ${where}: the timeout must be seconds (>= 0), none or "del", got ${JSON.stringify(value) ?? String(value)}`);
}

function readTags(keywords: Record<string, unknown> | undefined, where: string): readonly string[] | undefined {
  if (!keywords) return undefined;
  for (const name of Object.keys(keywords)) {
    if (name !== '__keywords' && name !== 'tags') throw new TypeError(`cache tag at ${where}: unknown option ${name}=`);
  }
  const tags = keywords.tags;
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new TypeError(`cache tag at ${where}: tags= must be a list of strings`);
  }
  return tags;
}
