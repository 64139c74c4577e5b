import { defineConfig } from 'vitest/config';
import { requirePostgres } from './test/support/services.ts';

// The blog's integration suite runs twice: on SQLite with everything else, and on PostgreSQL
// (each test app in a fresh schema; test/support/app.ts). Without PostgreSQL the second run is
// left out with a loud warning, or fails the run under CI.
export default defineConfig(async () => {
  const postgres = await requirePostgres();
  return {
    test: {
      testTimeout: 20_000,
      hookTimeout: 30_000,
      // Suites start their own servers and SQLite files; two cores suit two workers.
      maxWorkers: 2,
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
