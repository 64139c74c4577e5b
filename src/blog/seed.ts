import { randomBytes } from 'node:crypto';
import { StartupError, type Config } from '../config.ts';
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

/**
 * Production refuses to start without an author account: nobody could sign in to the blog it
 * would serve. Call it after {@link ensureAuthor}, which creates the account when told how.
 */
export async function requireAuthorInProduction(config: Config, users: UserService): Promise<void> {
  if (config.nodeEnv !== 'production' || (await users.count()) > 0) return;
  throw new StartupError('No author account: set AUTHOR_USERNAME and AUTHOR_PASSWORD to create one at start (production never starts without one)');
}

/** The demo posts: category, title, and the opening sentence of the body. */
const DEMO_TOPICS: ReadonlyArray<readonly [string, string, string]> = [
  ['caching', 'Why a cache needs an invalidation plan', 'A cache is only as good as the moment it forgets: decide what each write makes stale before the first page is stored.'],
  ['caching', 'Timeouts, jitter and the thundering herd', 'When a popular entry expires, every reader asks for it at once; a little randomness and one renderer at a time keep the database calm.'],
  ['caching', 'Fragment caching in templates', 'Some parts of a page change far less often than the page itself, and can be stored on their own.'],
  ['caching', 'Negative caching: remembering what is not there', 'A lookup that finds nothing costs as much as one that finds something, so its answer is worth keeping too.'],
  ['koa', 'Middleware as a stack of promises', 'Each middleware awaits the next one, so code before the await runs on the way in and code after it on the way out.'],
  ['koa', 'Routing with @koa/router', 'Routes name their parameters, and a router can tell which request it would take before anything else runs.'],
  ['koa', 'Sessions that the server can revoke', 'When the cookie holds only an id, signing out deletes the session everywhere at once.'],
  ['writing', 'Writing in Markdown', 'Plain text with a few conventions becomes headings, lists, links and code without a toolbar in sight.'],
  ['writing', 'Drafts, edits and the published page', 'A draft is visible to its author alone until the moment it is published.'],
  ['writing', 'An Atom feed for readers who subscribe', 'Feed readers fetch one small file and learn of every new post without visiting the site.'],
  ['databases', 'SQLite in WAL mode', 'With write-ahead logging, readers never wait for the writer, and a committed write survives a crash.'],
  ['databases', 'Migrations instead of synchronize', 'Each change to the schema is a numbered step, so every copy of the database upgrades the same way.'],
];

// The page shows the title as its heading, so the body starts with its prose.
function demoBody(category: string, lede: string): string {
  return [
    lede,
    '',
    `This is one of the demo posts of the *${category}* category, added while the blog was empty.`,
    '',
    '## In short',
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
    creates: DEMO_TOPICS.map(([category, title, lede], i) => ({
      input: { title, category, body: demoBody(category, lede), published: true },
      createdAt: new Date(now - (DEMO_TOPICS.length - i) * 86_400_000),
      slug: slugify(title),
    })),
  });
  return DEMO_TOPICS.length;
}
