// Runs Kiln compiled, on plain node, building dist/ first when it is missing or older than the
// sources, so `npm install && npm start` works on a fresh clone. `npm start`, the CLI commands
// and the TypeORM CLI all go through it.
//
//   node scripts/run.mjs [--out-dir DIR] ENTRY [ARGS...]
//
// ENTRY is a source module (src/server.ts runs as dist/src/server.js) or a JavaScript file that
// runs as it is (node_modules/typeorm/cli.js). It runs in this process, not a child: signals
// reach it directly, and it sees process.argv as [node, ENTRY, ...ARGS], as cluster workers,
// which re-run process.argv[1], do too.

import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, compiledTwin, ensureBuilt, outDirOption } from './build.mjs';

/**
 * The file that runs for `entry`: a source module's compiled twin in `outDir`, else `entry`.
 *
 * @param {string} entry
 * @param {string} outDir
 * @returns {string}
 */
function compiledEntry(entry, outDir) {
  return entry.endsWith('.ts') ? compiledTwin(outDir, entry) : resolve(ROOT, entry);
}

/** @type {string} */
let target;
/** @type {string[]} */
let args;
try {
  const [outDir, [entry, ...rest]] = outDirOption(process.argv.slice(2));
  if (entry === undefined) throw new Error('usage: node scripts/run.mjs [--out-dir DIR] ENTRY [ARGS...]');
  ensureBuilt(outDir);
  target = compiledEntry(entry, outDir);
  if (!existsSync(target)) throw new Error(`${relative(ROOT, target)} does not exist (is ${entry} part of the build?)`);
  args = rest;
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
process.argv = [process.argv[0] ?? process.execPath, target, ...args];
await import(pathToFileURL(target).href);
