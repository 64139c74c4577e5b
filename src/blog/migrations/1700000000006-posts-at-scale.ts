import { Table, TableIndex, type DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The triggers on `post` that keep `listing_count` and `listing_day_count` (SQLite: row triggers; PostgreSQL: statement triggers). */
export const LISTING_TRIGGERS = {
  sqlite: ['post_listing_insert', 'post_listing_update', 'post_listing_delete'],
  postgres: ['post_listing_insert', 'post_listing_update', 'post_listing_delete', 'post_listing_truncate'],
} as const;

/**
 * What lets a blog of 100,000 posts serve a listing page in about the time it takes at 300
 * (src/blog/services/listing.ts), and import them at thousands a second:
 * - indexes in the listings' own order, `(published, created_at, id)` and
 *   `(published, category, created_at, id)`, replacing the two they extend;
 * - `listing_count`: published posts per listing (a category, or `''` for all), so a page's
 *   total, the 404 past the end and the sidebar's categories are one small read, not a scan;
 * - `listing_day_count`: the same per UTC day, so a deep page skips whole days to the one it
 *   starts in instead of an OFFSET over every newer post;
 * - on PostgreSQL built with lz4, post bodies compressed with lz4 instead of pglz: about a quarter
 *   less of the server's CPU per imported post, and faster to read back (new values only).
 *
 * Triggers keep both tables, in the transaction of every write to `post` whoever makes it (the
 * app, an import, a migration, a hand-written statement). A later migration that rebuilds `post`
 * on SQLite (TypeORM does for most column changes) drops them and must create them again:
 * openDatabase refuses to start without them ({@link missingListingTriggers}).
 */
export class PostsAtScale1700000000006 implements MigrationInterface {
  name = 'PostsAtScale1700000000006';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'listing_count',
        columns: [
          { name: 'listing', type: 'varchar', length: '60', isPrimary: true },
          { name: 'posts', type: 'integer' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'listing_day_count',
        columns: [
          { name: 'listing', type: 'varchar', length: '60', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'posts', type: 'integer' },
        ],
      }),
    );
    // Triggers first: on PostgreSQL creating one locks `post` against writes until this commits,
    // so no write can fall between the counts below and the triggers.
    for (const sql of q.dataSource.options.type === 'postgres' ? postgresTriggers() : sqliteTriggers()) await q.query(sql);
    const published = 'FROM post WHERE published = true';
    await q.query(`INSERT INTO listing_count (listing, posts) SELECT '', COUNT(*) ${published}`);
    await q.query(`INSERT INTO listing_count (listing, posts) SELECT category, COUNT(*) ${published} GROUP BY category`);
    await q.query(`INSERT INTO listing_day_count (listing, day, posts) SELECT '', substr(created_at, 1, 10), COUNT(*) ${published} GROUP BY substr(created_at, 1, 10)`);
    await q.query(
      `INSERT INTO listing_day_count (listing, day, posts) SELECT category, substr(created_at, 1, 10), COUNT(*) ${published} GROUP BY category, substr(created_at, 1, 10)`,
    );
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_created_id', columnNames: ['published', 'created_at', 'id'] }));
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_category_created_id', columnNames: ['published', 'category', 'created_at', 'id'] }));
    await q.dropIndex('post', 'idx_post_published_created');
    await q.dropIndex('post', 'idx_post_published_category');
    if (await hasLz4(q)) await q.query('ALTER TABLE post ALTER COLUMN body SET COMPRESSION lz4');
  }

  async down(q: QueryRunner): Promise<void> {
    if (await hasLz4(q)) await q.query('ALTER TABLE post ALTER COLUMN body SET COMPRESSION DEFAULT');
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_created', columnNames: ['published', 'created_at'] }));
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_category', columnNames: ['published', 'category'] }));
    await q.dropIndex('post', 'idx_post_published_category_created_id');
    await q.dropIndex('post', 'idx_post_published_created_id');
    const postgres = q.dataSource.options.type === 'postgres';
    for (const name of postgres ? LISTING_TRIGGERS.postgres : LISTING_TRIGGERS.sqlite) {
      await q.query(`DROP TRIGGER IF EXISTS ${name}${postgres ? ' ON post' : ''}`);
      if (postgres) await q.query(`DROP FUNCTION IF EXISTS ${name}()`);
    }
    await q.dropTable('listing_day_count');
    await q.dropTable('listing_count');
  }
}

/** Whether this is PostgreSQL (14 or later) built with lz4 compression. */
async function hasLz4(q: QueryRunner): Promise<boolean> {
  if (q.dataSource.options.type !== 'postgres') return false;
  const rows: unknown[] = await q.query("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)");
  return rows.length > 0;
}

/** The names of the listing triggers missing from `post` (empty when all are there). */
export async function missingListingTriggers(ds: DataSource): Promise<string[]> {
  const postgres = ds.options.type === 'postgres';
  const rows: { name: string }[] = postgres
    ? await ds.query("SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'post'::regclass AND NOT tgisinternal")
    : await ds.query("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'post'");
  const present = new Set(rows.map((row) => row.name));
  return (postgres ? LISTING_TRIGGERS.postgres : LISTING_TRIGGERS.sqlite).filter((name) => !present.has(name));
}

const day = (row: string) => `substr(${row}.created_at, 1, 10)`;

/** SQLite: row triggers; a post counts in `''` and in its category while published, on its creation day. */
function sqliteTriggers(): string[] {
  const add = (row: string) => [
    `INSERT INTO listing_count (listing, posts) SELECT listing, 1 FROM (SELECT '' AS listing UNION ALL SELECT ${row}.category) WHERE ${row}.published
       ON CONFLICT (listing) DO UPDATE SET posts = posts + 1;`,
    `INSERT INTO listing_day_count (listing, day, posts) SELECT listing, ${day(row)}, 1 FROM (SELECT '' AS listing UNION ALL SELECT ${row}.category) WHERE ${row}.published
       ON CONFLICT (listing, day) DO UPDATE SET posts = posts + 1;`,
  ];
  const remove = (row: string) => [
    `UPDATE listing_count SET posts = posts - 1 WHERE ${row}.published AND listing IN ('', ${row}.category);`,
    `UPDATE listing_day_count SET posts = posts - 1 WHERE ${row}.published AND listing IN ('', ${row}.category) AND day = ${day(row)};`,
  ];
  const moved = `OLD.published IS NOT NEW.published OR OLD.category IS NOT NEW.category OR ${day('OLD')} IS NOT ${day('NEW')}`;
  return [
    `CREATE TRIGGER post_listing_insert AFTER INSERT ON post BEGIN ${add('NEW').join(' ')} END`,
    `CREATE TRIGGER post_listing_update AFTER UPDATE OF published, category, created_at ON post WHEN ${moved} BEGIN ${[...remove('OLD'), ...add('NEW')].join(' ')} END`,
    `CREATE TRIGGER post_listing_delete AFTER DELETE ON post BEGIN ${remove('OLD').join(' ')} END`,
  ];
}

/**
 * PostgreSQL: statement triggers over the transition tables, so a 100-row INSERT updates each
 * count once. Every change locks `listing_count` rows in listing order, `''` first, before any
 * day row: writers queue on `''` instead of deadlocking on rows taken in different orders.
 */
function postgresTriggers(): string[] {
  const change = (rows: 'new_rows' | 'old_rows', sign: 1 | -1) => `SELECT category, ${day(rows)} AS day, ${sign} AS delta FROM ${rows} WHERE published`;
  const body = (changes: string[]) => `
    BEGIN
      WITH changes AS (${changes.join(' UNION ALL ')}),
        listings AS (SELECT '' AS listing, day, delta FROM changes UNION ALL SELECT category, day, delta FROM changes)
      INSERT INTO listing_count AS c (listing, posts)
        SELECT listing, SUM(delta) FROM listings GROUP BY listing ORDER BY listing
        ON CONFLICT (listing) DO UPDATE SET posts = c.posts + EXCLUDED.posts;
      WITH changes AS (${changes.join(' UNION ALL ')}),
        listings AS (SELECT '' AS listing, day, delta FROM changes UNION ALL SELECT category, day, delta FROM changes)
      INSERT INTO listing_day_count AS c (listing, day, posts)
        SELECT listing, day, SUM(delta) FROM listings GROUP BY listing, day HAVING SUM(delta) <> 0 ORDER BY listing, day
        ON CONFLICT (listing, day) DO UPDATE SET posts = c.posts + EXCLUDED.posts;
      RETURN NULL;
    END`;
  // SET search_path FROM CURRENT: the function finds the tables of its own schema whatever the
  // search path of the session that writes.
  const fn = (name: string, code: string) => `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$${code}$fn$`;
  return [
    fn('post_listing_insert', body([change('new_rows', 1)])),
    fn('post_listing_update', body([change('old_rows', -1), change('new_rows', 1)])),
    fn('post_listing_delete', body([change('old_rows', -1)])),
    fn('post_listing_truncate', 'BEGIN DELETE FROM listing_day_count; DELETE FROM listing_count; RETURN NULL; END'),
    'CREATE TRIGGER post_listing_insert AFTER INSERT ON post REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION post_listing_insert()',
    'CREATE TRIGGER post_listing_update AFTER UPDATE ON post REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION post_listing_update()',
    'CREATE TRIGGER post_listing_delete AFTER DELETE ON post REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION post_listing_delete()',
    'CREATE TRIGGER post_listing_truncate AFTER TRUNCATE ON post FOR EACH STATEMENT EXECUTE FUNCTION post_listing_truncate()',
  ];
}
