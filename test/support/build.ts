import { join } from 'node:path';
import { ROOT, compiledTwin, ensureBuilt } from '../../scripts/build.mjs';

/**
 * The compiled Kiln that tests run as processes, as `npm start` and the CLI commands run it (plain
 * node, no tsx: a start takes about half a second instead of one and more). vitest's global setup
 * builds it once per run, and only when a source is newer than it.
 */
export const TEST_BUILD = join(ROOT, 'test-artifacts', 'build');

/** The compiled twin of a source module, e.g. `src/server.ts` → `<TEST_BUILD>/src/server.js`. */
export function compiled(source: string): string {
  return compiledTwin(TEST_BUILD, source);
}

/** vitest's global setup (vitest.config.ts): brings {@link TEST_BUILD} up to date. */
export default function buildForTests(): void {
  ensureBuilt(TEST_BUILD);
}
