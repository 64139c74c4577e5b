import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../config.ts';
import { openDatabase } from '../db.ts';
import { importPosts, parseImportFile } from '../import.ts';
import { PostService } from '../services/posts.ts';

/** `npm run import -- FILE.json`: imports posts into the configured database. */
async function main(file: string | undefined): Promise<void> {
  if (!file) throw new Error('usage: npm run import -- FILE.json');
  const records = parseImportFile(await readFile(file, 'utf8'), file);
  const config = loadConfig();
  const ds = await openDatabase(config.databaseUrl);
  try {
    const posts = new PostService(ds);
    const imported = await importPosts(posts, records, (done, total) => {
      process.stdout.write(`\rimporting ${done}/${total} posts`);
    });
    process.stdout.write(`\nimported ${imported} posts into ${config.databaseUrl.replace(/\/\/[^@]*@/, '//***@')}\n`);
  } finally {
    await ds.destroy();
  }
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(`\nimport failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
