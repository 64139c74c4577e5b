import { writeFileSync } from 'node:fs';
import { DEFAULT_SEED, generatePosts } from './posts-data.ts';

// `npm run posts:generate -- N FILE [SEED]`: writes N generated posts (bench/posts-data.ts) to FILE
// as a JSON array that `npm run import` reads.

const [countArg, file, seedArg] = process.argv.slice(2);
const count = Number(countArg);
const seed = seedArg === undefined ? DEFAULT_SEED : Number(seedArg);
if (!Number.isSafeInteger(count) || count < 1 || file === undefined || !Number.isSafeInteger(seed)) {
  process.stderr.write('usage: npm run posts:generate -- N FILE [SEED]\n');
  process.exit(1);
}
const posts = generatePosts(count, seed);
writeFileSync(file, `${JSON.stringify(posts, null, 1)}\n`);
const sizes = posts.map((p) => Buffer.byteLength(p.body));
process.stdout.write(`wrote ${count} posts to ${file} (seed ${seed}; bodies ${Math.min(...sizes)}–${Math.max(...sizes)} bytes)\n`);
