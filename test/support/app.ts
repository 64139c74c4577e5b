import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Koa from 'koa';
import supertest from 'supertest';
import type { DataSource } from 'typeorm';
import { createApp } from '../../src/app.ts';
import { openDatabase } from '../../src/blog/db.ts';
import { ensureAuthor, seedDemo } from '../../src/blog/seed.ts';
import { PostService, type Post, type PostInput } from '../../src/blog/services/posts.ts';
import { PasswordHasher } from '../../src/blog/password.ts';
import { createLoginAttemptStore, createSessionStore } from '../../src/blog/services/session-stores.ts';
import { UserService } from '../../src/blog/services/users.ts';
import { loadConfig, type Config, type Env } from '../../src/config.ts';
import { FakeClock } from './fake-clock.ts';
import { MemoryLogger } from './memory-logger.ts';
import { SHARED_POSTGRES_URL } from './services.ts';

/** The author account every test app has. */
export const AUTHOR = { username: 'author', password: 'correct horse battery staple' } as const;

/** The configured site URL of test apps; deliberately not the address the tests connect to. */
export const SITE_URL = 'http://kiln.test';

/**
 * The cheap password hasher of test apps (scrypt N=2^10: about a millisecond, where the real
 * N=2^17 costs 0.3–0.5 s), so the dozens of apps that create an author and log in stay fast.
 * Like Django's test hashers, it exists only here: production code has no way to ask for it.
 */
export const TEST_PASSWORDS = new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 });

/** The time a test app's clock starts at (posts are dated from it). */
export const TEST_APP_START = Date.UTC(2026, 0, 15, 12, 0, 0);

/** The database the suites run on: `KILN_TEST_DATABASE=postgres` (vitest's postgres project) or SQLite. */
export const TEST_DATABASE: 'sqlite' | 'postgres' = (() => {
  const named = process.env.KILN_TEST_DATABASE?.trim() || 'sqlite';
  if (named === 'sqlite' || named === 'postgres') return named;
  throw new Error(`KILN_TEST_DATABASE: expected sqlite or postgres, got "${named}"`);
})();

/** A database for one test: a SQLite file in `dir`, or a fresh PostgreSQL schema that `drop()` removes. */
export interface TestDatabase {
  /** The `DATABASE_URL` to open. */
  url: string;
  /** Removes the PostgreSQL schema and everything in it (a no-op on SQLite, whose folder the caller removes). */
  drop(): Promise<void>;
}

/** A new, empty database of the kind {@link TEST_DATABASE} names; `openDatabase(url)` migrates it. */
export function testDatabase(dir: string): TestDatabase {
  if (TEST_DATABASE === 'sqlite') return { url: `sqlite:${join(dir, 'kiln.sqlite')}`, drop: async () => {} };
  const schema = `kiln_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(SHARED_POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.href,
    drop: async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: SHARED_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A running Kiln for one test file. */
export interface TestApp {
  config: Config;
  app: Koa;
  server: Server;
  dataSource: DataSource;
  posts: PostService;
  clock: FakeClock;
  logger: MemoryLogger;
  /** The access log's lines, in order (kept here instead of written to standard output). */
  accessLines: string[];
  /** A fresh supertest client with no cookies. */
  request(): supertest.Agent;
  /** Creates a post through the app's PostService (so it invalidates like any write), dated `daysAgo` days before the clock. */
  addPost(input?: Partial<PostInput>, daysAgo?: number): Promise<Post>;
  /** Stops the server, closes the sessions and the database, and removes the temporary folder (or schema). */
  close(): Promise<void>;
}

/**
 * Starts the real app on a real SQLite file in a temporary folder (or, under
 * `KILN_TEST_DATABASE=postgres`, a fresh PostgreSQL schema), with the author account
 * created and an HTTP server on port 0. `env` overrides the test configuration; `demo` seeds
 * the demo posts; `passwords` replaces the cheap test hasher (pass `defaultHasher` to test the real one).
 */
export async function startTestApp(options: { env?: Env; demo?: boolean; passwords?: PasswordHasher } = {}): Promise<TestApp> {
  const passwords = options.passwords ?? TEST_PASSWORDS;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-web-'));
  const database = testDatabase(dir);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dir,
    DATABASE_URL: database.url,
    SITE_URL,
    AUTHOR_USERNAME: AUTHOR.username,
    AUTHOR_PASSWORD: AUTHOR.password,
    SEED_DEMO: '0',
    ...options.env,
  });
  const clock = new FakeClock(TEST_APP_START);
  const logger = new MemoryLogger();
  const dataSource = await openDatabase(config.databaseUrl);
  await ensureAuthor(config, new UserService(dataSource, { hasher: passwords, logger }), logger);
  if (options.demo) await seedDemo(new PostService(dataSource, clock), clock.now());
  const sessions = createSessionStore(config.session, { dataSource, clock, logger });
  const loginAttempts = createLoginAttemptStore(config.session, { dataSource, clock, logger });
  const accessLines: string[] = [];
  const accessLog = { write: (line: string) => void accessLines.push(line) };
  const app = await createApp(config, { dataSource, clock, logger, sessions, loginAttempts, passwords, accessLog });
  // The app's own service: a test's writes announce themselves like the author's.
  const { posts } = app.context.services;
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let created = 0;
  return {
    config,
    app,
    server,
    dataSource,
    posts,
    clock,
    logger,
    accessLines,
    request: () => supertest.agent(server),
    addPost: (input = {}, daysAgo) => {
      created += 1;
      const createdAt = new Date(clock.now() - (daysAgo ?? 0) * 86_400_000 + created);
      return posts.create(
        { title: `Post ${created}`, body: `Body of post ${created}`, category: 'general', published: true, ...input },
        { createdAt },
      );
    },
    close: async () => {
      app.context.services.caching.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sessions.close();
      await loginAttempts.close();
      await dataSource.destroy();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `_csrf` value of the first form in `html`. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]*)"/.exec(html);
  if (!match) throw new Error('no _csrf field in the page');
  return match[1];
}

/** The `name=value` pairs of a response's Set-Cookie headers (attributes dropped). */
export function setCookies(res: { headers: Record<string, unknown> }): Map<string, string> {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const cookies = new Map<string, string>();
  for (const line of list) {
    const pair = String(line).split(';')[0];
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return cookies;
}

/** The raw Set-Cookie lines of a response. */
export function setCookieLines(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
}

/**
 * Logs in through the real form with `agent` (which keeps the cookies) and returns the session
 * CSRF token of the author's pages.
 */
export async function login(agent: supertest.Agent, credentials: { username: string; password: string } = AUTHOR): Promise<string> {
  const form = await agent.get('/login').expect(200);
  await agent
    .post('/login')
    .type('form')
    .send({ _csrf: csrfFrom(form.text), ...credentials })
    .expect(303)
    .expect('Location', '/admin');
  const admin = await agent.get('/admin').expect(200);
  return csrfFrom(admin.text);
}

/** Fetches a login form with no cookie jar: its `_csrf` token and the cookie header it set. */
export async function loginForm(app: TestApp, headers: Record<string, string> = {}): Promise<{ csrf: string; cookie: string }> {
  const res = await supertest(app.server).get('/login').set(headers).expect(200);
  const cookie = setCookieLines(res)
    .map((line) => line.split(';')[0])
    .join('; ');
  return { csrf: csrfFrom(res.text), cookie };
}

/** Posts the login form with raw cookies (the form's, plus `extraCookie`). */
export function postLogin(
  app: TestApp,
  form: { csrf: string; cookie: string },
  credentials: Record<string, string>,
  extraCookie = '',
  headers: Record<string, string> = {},
): supertest.Test {
  return supertest(app.server)
    .post('/login')
    .set('Cookie', [form.cookie, extraCookie].filter(Boolean).join('; '))
    .set(headers)
    .type('form')
    .send({ _csrf: form.csrf, ...credentials });
}

/** The session cookie (`kiln.sid=id.signature`) a response set, as a Cookie header. */
export function sessionCookie(res: { headers: Record<string, unknown> }): string {
  const sid = setCookies(res).get('kiln.sid');
  if (!sid) throw new Error('no session cookie set');
  return `kiln.sid=${sid}`;
}

/** Logs in with raw requests; returns the session cookie header and the session's CSRF token. */
export async function loginRaw(app: TestApp): Promise<{ cookie: string; csrf: string }> {
  const res = await postLogin(app, await loginForm(app), AUTHOR).expect(303);
  const cookie = sessionCookie(res);
  const admin = await supertest(app.server).get('/admin').set('Cookie', cookie).expect(200);
  return { cookie, csrf: csrfFrom(admin.text) };
}
