// The build: `src/` and `ormconfig.ts` compiled by tsc (tsconfig.build.json) into `dist/`, which
// mirrors the repository (dist/src/server.js, dist/ormconfig.js), and a stamp that tells
// scripts/run.mjs whether the build is still current. Plain JavaScript, so it runs on plain node.
//
//   node scripts/build.mjs [--out-dir DIR]      (npm run build)

import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..');

/** Where `npm run build` compiles to. */
export const OUT_DIR = join(ROOT, 'dist');

/** The file a successful build leaves in its folder; its modification time is when that build started. */
export const STAMP = '.build-stamp';

/** What the build reads, relative to the root: a change to any of them makes the build stale. */
export const INPUTS = ['src', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/**
 * A build: the tsconfig it compiles and what it reads. The application's is the default; the
 * benchmark's adds its server entries (bench/tsconfig.build.json).
 *
 * @typedef {{ project: string, inputs: readonly string[] }} BuildProject
 */

/** @type {BuildProject} */
export const APP_BUILD = { project: 'tsconfig.build.json', inputs: INPUTS };

/**
 * The most recently modified of the build's inputs under `root`: TypeScript files, and the
 * folders holding them, so a deleted or renamed file counts as a change too.
 *
 * @param {string} root
 * @param {readonly string[]} inputs
 * @returns {{ path: string, mtimeMs: number }}
 */
export function newestInput(root = ROOT, inputs = INPUTS) {
  let newest = { path: root, mtimeMs: 0 };
  const visit = (/** @type {string} */ path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (stat.mtimeMs > newest.mtimeMs) newest = { path, mtimeMs: stat.mtimeMs };
    if (!stat.isDirectory()) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory() || entry.name.endsWith('.ts')) visit(join(path, entry.name));
    }
  };
  for (const input of inputs) visit(join(root, input));
  return newest;
}

/**
 * Why `outDir` needs a build, as a sentence, or `undefined` when its last build is newer than
 * every input.
 *
 * @param {string} outDir
 * @param {string} root
 * @param {BuildProject} what
 * @returns {string | undefined}
 */
export function staleReason(outDir = OUT_DIR, root = ROOT, what = APP_BUILD) {
  const stamp = statSync(join(outDir, STAMP), { throwIfNoEntry: false });
  if (stamp === undefined) return `${relative(root, outDir) || '.'}/ holds no finished build`;
  const newest = newestInput(root, what.inputs);
  if (newest.mtimeMs > stamp.mtimeMs) return `${relative(root, newest.path)} changed since the last build`;
  return undefined;
}

/**
 * Where a source module of the repository lands in a build: `src/server.ts` → `<outDir>/src/server.js`.
 *
 * @param {string} outDir
 * @param {string} source a path relative to `root`, or absolute
 * @param {string} root
 * @returns {string}
 */
export function compiledTwin(outDir, source, root = ROOT) {
  return resolve(outDir, relative(root, resolve(root, source))).replace(/\.ts$/, '.js');
}

/**
 * Empties `outDir` and compiles into it; throws if TypeScript is missing or tsc fails (tsc's
 * errors are on stderr, and nothing is emitted: noEmitOnError). The stamp gets the time the
 * build started, so a source saved during the build still makes it stale.
 *
 * @param {string} outDir
 * @param {string} root
 * @param {BuildProject} what
 */
export function build(outDir = OUT_DIR, root = ROOT, what = APP_BUILD) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('TypeScript is not installed, so the sources cannot be compiled: run `npm install` (dev dependencies included), then `npm run build`');
  }
  const started = new Date();
  rmSync(outDir, { recursive: true, force: true });
  const tscRun = spawnSync(process.execPath, [tsc, '-p', join(root, what.project), '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  if (tscRun.status !== 0) throw new Error(`tsc failed (${tscRun.error?.message ?? tscRun.status ?? tscRun.signal}); nothing was built`);
  const stamp = join(outDir, STAMP);
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}

/**
 * Builds `outDir` unless its build is current, saying why and how long it took on stderr.
 *
 * @param {string} outDir
 * @param {string} root
 * @param {BuildProject} what
 * @returns {boolean} whether it built
 */
export function ensureBuilt(outDir = OUT_DIR, root = ROOT, what = APP_BUILD) {
  const reason = staleReason(outDir, root, what);
  if (reason === undefined) return false;
  process.stderr.write(`Building ${relative(root, outDir)}/ (${reason})…\n`);
  const started = performance.now();
  build(outDir, root, what);
  process.stderr.write(`Built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

/**
 * The `--out-dir DIR` option at the start of `args`, resolved against the root: `[outDir, rest]`.
 *
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function outDirOption(args) {
  if (args[0] !== '--out-dir') return [OUT_DIR, args];
  if (args[1] === undefined) throw new Error('--out-dir needs a folder');
  return [resolve(ROOT, args[1]), args.slice(2)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const [outDir, rest] = outDirOption(process.argv.slice(2));
    if (rest.length > 0) throw new Error(`unexpected arguments: ${rest.join(' ')} (usage: npm run build [-- --out-dir DIR])`);
    const started = performance.now();
    build(outDir);
    process.stderr.write(`Built ${relative(ROOT, outDir)}/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
