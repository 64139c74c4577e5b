import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every TypeScript file under `folder` (default src/; declaration files included), as repository-relative paths with `/`, sorted. */
export function sourceFiles(folder = 'src'): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) found.push(relative(REPO_ROOT, path).split('\\').join('/'));
    }
  };
  walk(join(REPO_ROOT, folder));
  return found.sort();
}
