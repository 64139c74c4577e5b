import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sourceFiles } from './source-files.ts';

/** The longest a function in src/ may be, in lines from its first token to its closing brace. */
const MAX_LINES = 60;

/**
 * Today's longer functions, as `file: name`. The test fails when another appears and when one
 * listed here has been shortened, so the change that splits a function deletes its line.
 */
const KNOWN_LONG_FUNCTIONS: readonly string[] = [
];

/** The name a function goes by: its own, its variable's or property's, with its class for a method. */
function nameOf(node: ts.SignatureDeclaration, file: ts.SourceFile): string {
  const text = (name: ts.Node | undefined) => (name ? name.getText(file) : undefined);
  const parent = node.parent;
  let name = ts.isConstructorDeclaration(node) ? 'constructor' : text(node.name);
  if (!name && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) name = text(parent.name);
  if (!name && ts.isCallExpression(parent)) name = `${text(parent.expression)}(<callback>)`;
  const owner = ts.isClassLike(parent) ? text(parent.name) : undefined;
  return owner ? `${owner}.${name ?? '<anonymous>'}` : (name ?? '<anonymous>');
}

/** Every function of `path` longer than {@link MAX_LINES}, keyed `path: name`. */
function longFunctions(path: string): { key: string; lines: number }[] {
  const file = ts.createSourceFile(path, readFileSync(join(REPO_ROOT, path), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { key: string; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > MAX_LINES) found.push({ key: `${path}: ${nameOf(node, file)}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('the functions of src/', () => {
  const found = sourceFiles().flatMap(longFunctions);
  const keys = found.map((f) => f.key);

  it(`are at most ${MAX_LINES} lines long`, () => {
    const appeared = found.filter((f) => !KNOWN_LONG_FUNCTIONS.includes(f.key)).map((f) => `${f.key} (${f.lines} lines)`);
    expect(appeared, 'split these functions').toEqual([]);
  });

  it('still include every function listed as known to be long (delete the lines of those split)', () => {
    const gone = KNOWN_LONG_FUNCTIONS.filter((key) => !keys.includes(key));
    expect(gone, 'shortened: delete these lines from KNOWN_LONG_FUNCTIONS').toEqual([]);
  });
});
