import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import { requirePostgres } from './test/support/services.ts';

/**
 * The files that take longest, longest first (measured one by one on the 2-core machine). They
 * start before every other file, so that the two workers finish together: started late, the
 * crash test alone would set the wall time of `npm test`.
 */
const SLOW_FIRST: readonly string[] = [
  'test/reliability/durability.test.ts',
  'test/server.test.ts',
  'test/scripts/build.test.ts',
  'test/reliability/xss-browser.test.ts',
  'test/cache/redis-cluster.test.ts',
  'test/reliability/redis-degraded.test.ts',
  'test/reliability/redis-outage.test.ts',
  'test/blog/caching.test.ts',
  'test/cache/redis-sentinel.test.ts',
  'test/e2e/toolbar.e2e.test.ts',
  'test/bench/harness.test.ts',
  'test/reliability/cache-entries.test.ts',
];

/** Vitest's own order (failed first, then longest first by the last run), behind {@link SLOW_FIRST}. */
class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification): number => {
      const index = SLOW_FIRST.findIndex((path) => file.moduleId.endsWith(`/${path}`));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((file, index) => ({ file, index }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index)
      .map(({ file }) => file);
  }
}

// The blog's integration suite runs twice: on SQLite with everything else, and on PostgreSQL
// (each test app in a fresh schema; test/support/app.ts). Without PostgreSQL the second run is
// left out with a loud warning, or fails the run under CI.
export default defineConfig(async () => {
  const postgres = await requirePostgres();
  return {
    test: {
      // Servers and CLI commands started as processes run compiled, as `npm start` runs them.
      globalSetup: ['test/support/build.ts'],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      // Suites start their own servers and SQLite files; two cores suit two workers.
      maxWorkers: 2,
      // A worker runs its files in one module graph: the app's modules load once per worker, not
      // once per file (about 150 s of loading saved). So no test mocks a module
      // (test/architecture/shared-modules.test.ts), and state a file changes is its own to undo.
      isolate: false,
      sequence: { sequencer: SlowFirstSequencer },
      projects: [
        { extends: true as const, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
        ...(postgres
          ? [
              {
                extends: true as const,
                test: {
                  name: 'postgres',
                  include: ['test/blog/**/*.test.ts'],
                  // These open SQLite files by name: a second run would repeat the first.
                  exclude: ['test/blog/cli/**', 'test/blog/web/sql-logger.test.ts'],
                  env: { KILN_TEST_DATABASE: 'postgres' },
                },
              },
            ]
          : []),
      ],
    },
  };
});
