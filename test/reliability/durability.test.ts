import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import supertest from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLITE_PRAGMAS } from '../../ormconfig.ts';
import { openDatabase } from '../../src/blog/db.ts';
import { csrfFrom } from '../support/app.ts';
import { expectStartRefused, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { editPost } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';

const CRASH_CYCLES = process.env.CI ? 100 : scaled(5, 100);

const scratch = mkdtempSync(join(tmpdir(), 'kiln-rel-durable-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PASSWORD = 'crash test password';

describe('SQLite durability at boot', () => {
  it('opens a file database in WAL mode with synchronous=FULL and a busy timeout', async () => {
    const ds = await openDatabase(`sqlite:${join(scratch, 'pragmas.sqlite')}`);
    try {
      const [journal] = await ds.query('PRAGMA journal_mode');
      const [sync] = await ds.query('PRAGMA synchronous');
      const [busy] = await ds.query('PRAGMA busy_timeout');
      expect(String(journal.journal_mode).toLowerCase()).toBe('wal');
      expect(Number(sync.synchronous)).toBe(2);
      expect(Number(busy.timeout)).toBe(SQLITE_PRAGMAS.busy_timeout);
    } finally {
      await ds.destroy();
    }
  });

  it('refuses a database that cannot be durable (in memory: no WAL, nothing survives a crash)', async () => {
    await expect(openDatabase('sqlite::memory:')).rejects.toThrow(/not durable.*journal_mode=memory/);
  });

  it('refuses to start the server on such a database, saying why', async () => {
    const { code, output } = await expectStartRefused({
      NODE_ENV: 'production',
      SESSION_SECRET: 'a-session-secret-for-tests',
      DATABASE_URL: 'sqlite::memory:',
      DATA_DIR: join(scratch, 'refused'),
      CACHE_TYPE: 'memory',
      SEED_DEMO: '0',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/SQLite is not durable/);
  }, 60_000);
});

/** Reads every post's title and version straight from the file, and the integrity check. */
function inspect(file: string): { integrity: string; posts: Map<number, { title: string; version: number }> } {
  const db = new Database(file);
  try {
    const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? '';
    const rows = db.prepare('SELECT id, title, version FROM post').all() as { id: number; title: string; version: number }[];
    return { integrity, posts: new Map(rows.map((row) => [row.id, { title: row.title, version: row.version }])) };
  } finally {
    db.close();
  }
}

describe('crash after acknowledge (the real server, kill -9)', () => {
  // The server runs as production runs it, compiled (test/support/build.ts).
  it('keeps every acknowledged edit and new post, with integrity_check ok, through every crash', async () => {
    const dir = join(scratch, 'crash');
    const file = join(dir, 'kiln.sqlite');
    const server: ServerProcess = await startServerProcess({
      env: {
        NODE_ENV: 'production',
        KILN_WORKERS: '1',
        SESSION_SECRET: 'a-session-secret-for-crash-tests',
        AUTHOR_USERNAME: 'author',
        AUTHOR_PASSWORD: PASSWORD,
        DATABASE_URL: `sqlite:${file}`,
        DATA_DIR: dir,
        SEED_DEMO: '0',
        // A cache that survives the crash too: no page from before an acknowledged edit may outlive it.
        CACHE_TYPE: 'filesystem',
        CACHE_DIR: join(dir, 'cache'),
      },
    });
    // CI runs the 100 cycles the durability requirement asks for; a developer's `npm test` runs 5.
    const cycles = CRASH_CYCLES;
    /** Per post: titles the author saw acknowledged (last one wins) and any unacknowledged one after it. */
    const acked = new Map<number, { title: string; maybe: string[] }>();
    /** Posts whose title (or possible titles) changed since readers last read them. */
    const changed = new Set<number>();
    let edits = 0;
    let creates = 0;
    let inFlight = 0;
    let landedUnacked = 0;
    let unackedNotShown = 0;
    const restartMs: number[] = [];
    try {
      const author = supertest.agent(server.url);
      const form = await author.get('/login').expect(200);
      await author.post('/login').type('form').send({ _csrf: csrfFrom(form.text), username: 'author', password: PASSWORD }).expect(303);

      for (let cycle = 1; cycle <= cycles; cycle++) {
        if (cycle > 1) {
          const started = performance.now();
          await server.start();
          restartMs.push(performance.now() - started);
        }
        // The session is stored in the database too: it survived the crash.
        const admin = await author.get('/admin').expect(200);
        // Readers get every acknowledged title (the cache on disk was invalidated before each 303);
        // they read side by side, as readers do. A title that did not change since it was last
        // read is read again every 10th cycle (a page's own title only changes with its post).
        const read = async ([id, expected]: [number, { title: string; maybe: string[] }]) =>
          ({ id, ...expected, page: await supertest(server.url).get(`/posts/${id}`).expect(200) });
        const reading = [...acked].filter(([id]) => cycle % 10 === 0 || changed.has(id));
        changed.clear();
        for (const { id, title, maybe, page } of await Promise.all(reading.map(read))) {
          expect([title, ...maybe].some((t) => page.text.includes(t)), `cycle ${cycle}: /posts/${id} shows none of ${[title, ...maybe].join(' | ')}`).toBe(true);
          if (!page.text.includes(title)) unackedNotShown += 1;
        }
        const created = await author.post('/admin/posts').type('form').send({ _csrf: csrfFrom(admin.text), title: `Created in cycle ${cycle}`, body: `Body ${cycle}`, category: 'crash', published: 'on' });
        expect(created.status).toBe(303);
        const newId = Number(String(created.headers.location).split('/').pop());
        acked.set(newId, { title: `Created in cycle ${cycle}`, maybe: [] });
        changed.add(newId);
        creates += 1;
        // A few acknowledged edits of the newest posts.
        const targets = Array.from(acked.keys()).slice(-3);
        for (const [j, id] of targets.entries()) {
          const title = `Cycle ${cycle} edit ${j} of post ${id}`;
          expect(await editPost(author, id, { title })).toBe(303);
          acked.set(id, { title, maybe: [] });
          edits += 1;
          changed.add(id);
        }
        // One more edit in flight when the power goes: it may or may not have landed.
        const victim = targets[0];
        const unacked = `Cycle ${cycle} unacknowledged edit of post ${victim}`;
        const pending = editPost(author, victim, { title: unacked }).catch(() => 0);
        await new Promise((resolve) => setTimeout(resolve, 5 + ((cycle * 7) % 30)));
        await server.kill();
        const landed = await pending;
        inFlight += 1;
        const entry = acked.get(victim);
        if (entry && landed !== 303) entry.maybe.push(unacked);
        if (entry && landed === 303) acked.set(victim, { title: unacked, maybe: [] });

        const { integrity, posts } = inspect(file);
        expect(integrity, `cycle ${cycle}`).toBe('ok');
        for (const [id, { title, maybe }] of acked) {
          const row = posts.get(id);
          expect(row, `cycle ${cycle}: post ${id} is gone`).toBeDefined();
          expect([title, ...maybe], `cycle ${cycle}: post ${id}`).toContain(row?.title);
          // What landed is now the truth, and readers must see it after the restart: an edit that
          // committed but died before invalidating left its outbox row, replayed at the next start.
          if (row && row.title !== title) {
            landedUnacked += 1;
            changed.add(id);
          }
          if (row) acked.set(id, { title: row.title, maybe: row.title === title ? [] : [title] });
        }
      }
      recordFigures('crash after acknowledge (kill -9 of the built src/server.js, SQLite WAL + synchronous=FULL)', {
        cycles,
        medianRestartMs: Math.round(restartMs.sort((a, b) => a - b)[Math.floor(restartMs.length / 2)] ?? 0),
        acknowledgedEdits: edits,
        acknowledgedCreates: creates,
        editsInFlightAtTheKill: inFlight,
        inFlightEditsThatLanded: landedUnacked,
        landedButPageStillOld: unackedNotShown,
        lost: 0,
        integrity: 'ok',
      });
      expect(unackedNotShown, 'pages showing an older title than the one stored').toBe(0);
    } finally {
      await server.kill();
    }
  }, CRASH_CYCLES * 24_000);
});
