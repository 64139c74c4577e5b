import nunjucks from 'nunjucks';
import type { NunjucksNodeClass, NunjucksNodes } from './parser-types.ts';

/**
 * An expression node whose value is the name of the template being compiled.
 *
 * Nunjucks gives neither an extension's `parse` nor its `run` the template's name, but its
 * compiler knows it (it embeds it for relative includes and error messages). This adds one
 * compile method for one new node type to Nunjucks' Compiler, so a tag can pass its own template
 * as an argument: it replaces nothing and changes no other node's output.
 */

const TYPENAME = 'KilnTemplateName';
const METHOD = `compile${TYPENAME}`;

let nodeClass: NunjucksNodeClass | undefined;

function member(value: unknown, name: string): unknown {
  return value !== null && (typeof value === 'object' || typeof value === 'function') ? Reflect.get(value, name) : undefined;
}

interface CompilerThis {
  _emit(code: string): void;
  _templateName(): string;
}

function installCompileMethod(): void {
  const prototype = member(member(member(nunjucks, 'compiler'), 'Compiler'), 'prototype');
  if (typeof prototype !== 'object' || prototype === null || typeof member(prototype, '_templateName') !== 'function') {
    throw new Error('the <% cache %> tag needs nunjucks 3.x (its Compiler has changed)');
  }
  if (Object.hasOwn(prototype, METHOD)) return;
  Object.defineProperty(prototype, METHOD, {
    value: function compileKilnTemplateName(this: CompilerThis): void {
      // `_templateName()` is the name as a JavaScript string literal, or `undefined`.
      this._emit(this._templateName());
    },
  });
}

/**
 * A node (an expression, a subclass of `Literal` so argument lists accept it) that evaluates to
 * the current template's name, or `undefined` for a string rendered without one.
 */
export function templateNameNode(nodes: NunjucksNodes, lineno: number, colno: number): unknown {
  if (!nodeClass) {
    installCompileMethod();
    nodeClass = nodes.Literal.extend(TYPENAME);
  }
  return new nodeClass(lineno, colno);
}
