import type { EntityManager } from 'typeorm';
import type { NewPost } from './post-shapes.ts';

/** Rows per INSERT statement (at most 9 parameters each, far below every driver's limit). */
const INSERT_ROWS = 100;

const COLUMNS = ['title', 'slug', 'category', 'body', 'published', 'created_at', 'updated_at', 'version'];

/**
 * Inserts new posts in the order given, up to {@link INSERT_ROWS} a statement, dated `now` for
 * their update time: plain SQL, since TypeORM's insert builder costs more CPU than the database
 * does per row (an import writes hundreds of posts a second) and on PostgreSQL writes DEFAULT
 * for an id given to a serial column. Rows given an `id` keep it; the others get the next one.
 * Runs in the caller's transaction (`manager`).
 */
export async function insertPosts(manager: EntityManager, creates: readonly NewPost[], now: Date): Promise<void> {
  const postgres = manager.dataSource.options.type === 'postgres';
  const updatedAt = now.toISOString();
  for (let start = 0; start < creates.length; ) {
    // One statement holds a run of rows that all have an id, or all have none.
    const withId = creates[start].id !== undefined;
    let end = start + 1;
    while (end < creates.length && end - start < INSERT_ROWS && (creates[end].id !== undefined) === withId) end++;
    const params: unknown[] = [];
    const placeholder = (value: unknown) => {
      params.push(value);
      return postgres ? `$${params.length}` : '?';
    };
    const tuples = creates.slice(start, end).map((c) => {
      // better-sqlite3 binds no booleans: SQLite stores them as 1 and 0, as TypeORM does.
      const published = postgres ? c.input.published : Number(c.input.published);
      const values = [...(withId ? [c.id] : []), c.input.title, c.slug, c.input.category, c.input.body, published, c.createdAt.toISOString(), updatedAt, 1];
      return `(${values.map(placeholder).join(', ')})`;
    });
    await manager.query(`INSERT INTO post (${[...(withId ? ['id'] : []), ...COLUMNS].join(', ')}) VALUES ${tuples.join(', ')}`, params);
    start = end;
  }
}
