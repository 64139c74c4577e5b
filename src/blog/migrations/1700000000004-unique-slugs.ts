import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The longest slug the `post.slug` column holds. */
const SLUG_COLUMN_LENGTH = 200;

/**
 * Makes post slugs unique: an import identifies posts by slug, so two posts may not share one.
 * Existing duplicates keep the slug on their oldest post (lowest id); each later one gets the
 * first free `-2`, `-3`, … suffix, as new posts do (PostService). Then a unique index holds it.
 */
export class UniqueSlugs1700000000004 implements MigrationInterface {
  name = 'UniqueSlugs1700000000004';

  async up(q: QueryRunner): Promise<void> {
    const rows: { id: number; slug: string }[] = await q.query('SELECT id, slug FROM post ORDER BY id');
    const taken = new Set(rows.map((row) => row.slug));
    const seen = new Set<string>();
    for (const row of rows) {
      if (!seen.has(row.slug)) {
        seen.add(row.slug);
        continue;
      }
      let n = 2;
      while (taken.has(suffixed(row.slug, n))) n += 1;
      const slug = suffixed(row.slug, n);
      taken.add(slug);
      seen.add(slug);
      await q.manager.createQueryBuilder().update('post').set({ slug }).where('id = :id', { id: row.id }).execute();
    }
    await q.createIndex('post', new TableIndex({ name: 'idx_post_slug', columnNames: ['slug'], isUnique: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('post', 'idx_post_slug');
  }
}

function suffixed(slug: string, n: number): string {
  const suffix = `-${n}`;
  return slug.slice(0, SLUG_COLUMN_LENGTH - suffix.length) + suffix;
}
