import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { compiled } from '../../support/build.ts';
import { REPO_ROOT } from '../../support/server-process.ts';

const run = promisify(execFile);

/** What one run of the import command did. */
export interface ImportRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real command, the compiled `src/blog/cli/import.ts ARGS` (what `npm run import` runs), with only `env` (plus
 * PATH and HOME; `NODE_ENV=test` and `CACHE_TYPE=null` unless given), and resolves how it ended.
 */
export async function runImport(args: readonly string[], env: Record<string, string>): Promise<ImportRun> {
  const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', CACHE_TYPE: 'null', ...env };
  try {
    const { stdout, stderr } = await run(process.execPath, [compiled('src/blog/cli/import.ts'), ...args], { cwd: REPO_ROOT, env: childEnv });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
