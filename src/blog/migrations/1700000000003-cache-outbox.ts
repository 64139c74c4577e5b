import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The cache invalidation outbox: every post write adds a row with the tags it makes stale, in
 * the same transaction, so a crash between the commit and the invalidation loses nothing (the
 * row is replayed at the next start or sweep; src/blog/services/outbox.ts).
 */
export class CacheOutbox1700000000003 implements MigrationInterface {
  name = 'CacheOutbox1700000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'cache_outbox',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'tags', type: 'text' },
          { name: 'created_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('cache_outbox');
  }
}
