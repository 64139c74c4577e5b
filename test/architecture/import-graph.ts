import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './source-files.ts';

/** One import between two files of the repository, as repository-relative paths. */
export interface ImportEdge {
  from: string;
  to: string;
}

/**
 * Every relative import of `files` (static, type-only, re-exports and dynamic `import()` with a
 * literal specifier), resolved to repository-relative paths; each pair of files once.
 */
export function importEdges(files: readonly string[]): ImportEdge[] {
  const seen = new Set<string>();
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(join(REPO_ROOT, from), 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = resolveSpecifier(from, fileName);
      if (seen.has(`${from}\0${to}`)) continue;
      seen.add(`${from}\0${to}`);
      edges.push({ from, to });
    }
  }
  return edges;
}

/** The file a relative specifier names: as written, or with `.ts` for `.js` or no extension. */
function resolveSpecifier(from: string, specifier: string): string {
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, `${target}/index.ts`];
  return candidates.find((path) => existsSync(join(REPO_ROOT, path))) ?? target;
}

/** The groups of two or more files that import each other, directly or not (Tarjan's algorithm); each sorted. */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file) ?? 0);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    const selfImport = (next.get(file) ?? []).includes(file);
    if (group.length > 1 || selfImport) found.push(group.sort());
  };
  for (const file of next.keys()) if (!index.has(file)) visit(file);
  return found;
}
