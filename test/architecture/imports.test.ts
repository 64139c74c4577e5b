import { describe, expect, it } from 'vitest';
import { cycles, importEdges, type ImportEdge } from './import-graph.ts';
import { sourceFiles } from './source-files.ts';

/** The library's public entries: the only files of src/cache that the rest of src/ may import. */
const ENTRIES: readonly string[] = [
  'src/cache/index.ts',
  'src/cache/koa/index.ts',
  'src/cache/nunjucks/index.ts',
  'src/cache/toolbar/index.ts',
  'src/cache/distributed/index.ts',
];

/**
 * The layers of src/cache, bottom up, as in the picture at the top of src/cache/README.md. A file
 * may import files of its own row and of earlier rows, never of a later one. Paths are relative
 * to src/cache; one ending in `/` names a folder. The most specific path that matches a file
 * places it (a file before its folder, a deeper folder before a shallower one).
 */
const LAYERS: readonly { name: string; files: readonly string[] }[] = [
  { name: 'L0 contract', files: ['types.ts', 'expiry.ts', 'defaults.ts', 'bounded-map.ts', 'config/env.ts', 'config/cache-config.ts'] },
  { name: 'L1 keys, codec, local backends', files: ['keys.ts', 'codec.ts', 'backends/'] },
  { name: 'L2 core', files: ['cache.ts', 'reader.ts', 'tags.ts', 'pending.ts', 'single-flight.ts', 'memoize.ts', 'telemetry.ts'] },
  // Beside the core in the picture: it may use the core, never the reverse, so that importing
  // kiln/cache does not load ioredis.
  {
    name: 'L2 distributed',
    files: [
      'distributed/',
      'http-purge.ts',
      'purge-request.ts',
    ],
  },
  { name: 'L3 metrics, config', files: ['metrics/', 'config/'] },
  { name: 'L4 koa, nunjucks', files: ['koa/', 'nunjucks/'] },
  { name: 'L5 toolbar', files: ['toolbar/'] },
  { name: 'entry', files: ['index.ts'] },
];

/**
 * Today's violations. The test fails when one appears and when one listed here has gone, so the
 * change that removes a violation deletes its line.
 */
const KNOWN_VIOLATIONS: readonly string[] = [
];

const LIBRARY = 'src/cache/';

/** The index of the row that places `file` (a path under src/cache/), or undefined. */
function layerOf(file: string): number | undefined {
  const inside = file.slice(LIBRARY.length);
  let best: { row: number; specificity: number } | undefined;
  LAYERS.forEach((row, index) => {
    for (const path of row.files) {
      const matches = path.endsWith('/') ? inside.startsWith(path) : inside === path;
      // An exact file outranks any folder; among folders the longer path wins.
      const specificity = path.endsWith('/') ? path.length : Number.MAX_SAFE_INTEGER;
      if (matches && (!best || specificity > best.specificity)) best = { row: index, specificity };
    }
  });
  return best?.row;
}

/** Every violation of the four rules in `edges`, one line each. */
function violations(files: readonly string[], edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    if (file.startsWith(LIBRARY) && layerOf(file) === undefined) found.push(`unlayered: ${file}`);
  }
  for (const { from, to } of edges) {
    const fromLibrary = from.startsWith(LIBRARY);
    const toLibrary = to.startsWith(LIBRARY);
    if (fromLibrary && !toLibrary) found.push(`outside: ${from} -> ${to}`);
    if (!fromLibrary && toLibrary && !ENTRIES.includes(to)) found.push(`entry: ${from} -> ${to}`);
    if (fromLibrary && toLibrary) {
      const [fromRow, toRow] = [layerOf(from), layerOf(to)];
      if (fromRow !== undefined && toRow !== undefined && toRow > fromRow) found.push(`layer: ${from} -> ${to}`);
    }
  }
  for (const group of cycles(edges)) found.push(`cycle: ${group.join(', ')}`);
  return found;
}

describe('the import graph of src/', () => {
  const files = sourceFiles();
  const found = violations(files, importEdges(files));

  it('has no cycle; src/cache imports only itself, along its layers; the app imports only the entries', () => {
    const appeared = found.filter((line) => !KNOWN_VIOLATIONS.includes(line)).sort();
    expect(appeared, 'new violations: change the import (or, if the layer table is wrong, LAYERS)').toEqual([]);
  });

  it('still has every violation listed as known (delete the lines of those fixed)', () => {
    const gone = KNOWN_VIOLATIONS.filter((line) => !found.includes(line));
    expect(gone, 'fixed: delete these lines from KNOWN_VIOLATIONS').toEqual([]);
  });
});
