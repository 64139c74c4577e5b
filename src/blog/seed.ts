import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import type { PostService } from './services/posts.ts';
import { slugify } from './services/slugs.ts';
import type { UserService } from './services/users.ts';
import type { Logger } from '../log.ts';

/** @deprecated Import it from src/log.ts. */
export type { Logger } from '../log.ts';

/**
 * Creates the author account if no user has the configured name. In development with neither
 * AUTHOR_USERNAME nor AUTHOR_PASSWORD set, an `author` account gets a random password, printed
 * once (it is never logged again).
 */
export async function ensureAuthor(config: Config, users: UserService, log: Logger): Promise<void> {
  let { authorUsername: username, authorPassword: password } = config;
  if (username === undefined && password === undefined) {
    if (config.nodeEnv !== 'development' || (await users.count()) > 0) return;
    username = 'author';
    password = randomBytes(12).toString('base64url');
    if (await users.createIfMissing(username, password)) {
      log.info(`Created the author account: username "author", password "${password}" (shown once; set AUTHOR_PASSWORD to choose one)`);
    }
    return;
  }
  if (username === undefined || password === undefined) {
    log.warn('Set both AUTHOR_USERNAME and AUTHOR_PASSWORD to create the author account');
    return;
  }
  if (await users.createIfMissing(username, password)) log.info(`Created the author account "${username}"`);
}

const DEMO_TOPICS: ReadonlyArray<readonly [string, string]> = [
  ['caching', 'Why a cache needs an invalidation plan'],
  ['caching', 'Timeouts, jitter and the thundering herd'],
  ['caching', 'Fragment caching in templates'],
  ['caching', 'Negative caching: remembering what is not there'],
  ['koa', 'Middleware as a stack of promises'],
  ['koa', 'Routing with @koa/router'],
  ['koa', 'Sessions that the server can revoke'],
  ['writing', 'Writing in Markdown'],
  ['writing', 'Drafts, edits and the published page'],
  ['writing', 'An Atom feed for readers who subscribe'],
  ['databases', 'SQLite in WAL mode'],
  ['databases', 'Migrations instead of synchronize'],
];

function demoBody(title: string, category: string): string {
  return [
    `## ${title}`,
    '',
    `This is a demo post in the *${category}* category, created because the database was empty.`,
    'Log in as the author to edit or delete it, or start Kiln with `SEED_DEMO=0` to begin with an empty blog.',
    '',
    '- Posts are written in **Markdown**',
    '- Pages are cached for readers and always fresh for the author',
    '',
    '```ts',
    "const page = await cache.getOrSet('index', render, { timeout: 1200 });",
    '```',
  ].join('\n');
}

/** Fills an empty database with a dozen demo posts in a few categories; a non-empty one is left alone. */
export async function seedDemo(posts: PostService, now: number): Promise<number> {
  if ((await posts.count()) > 0) return 0;
  await posts.saveBatch({
    creates: DEMO_TOPICS.map(([category, title], i) => ({
      input: { title, category, body: demoBody(title, category), published: true },
      createdAt: new Date(now - (DEMO_TOPICS.length - i) * 86_400_000),
      slug: slugify(title),
    })),
  });
  return DEMO_TOPICS.length;
}
