import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sourceFiles } from './source-files.ts';

// vitest.config.ts runs the test files of a worker in one module graph (`isolate: false`), which
// saves loading the app's modules again for every file. A module mock would then leak into the
// files after it, or miss modules already loaded: a test takes what it wants to observe as a
// parameter instead (e.g. `new PostRendering(logger, render)`).
describe('tests share one module graph per worker', () => {
  it('so no test replaces a module (vi.mock, vi.doMock)', () => {
    const mocking = sourceFiles('test').filter((path) => /\bvi\.(?:do)?[mM]ock\(/.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
    expect(mocking).toEqual([]);
  });
});
