import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Creates the post, app_user and session tables. Written with TypeORM's portable Table API. */
export class Initial1700000000000 implements MigrationInterface {
  name = 'Initial1700000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'post',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'title', type: 'varchar', length: '200' },
          { name: 'slug', type: 'varchar', length: '200' },
          { name: 'category', type: 'varchar', length: '60' },
          { name: 'body', type: 'text' },
          { name: 'published', type: 'boolean', default: false },
          { name: 'created_at', type: 'varchar', length: '30' },
          { name: 'updated_at', type: 'varchar', length: '30' },
          { name: 'version', type: 'integer', default: 1 },
        ],
      }),
    );
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_created', columnNames: ['published', 'created_at'] }));
    await q.createIndex('post', new TableIndex({ name: 'idx_post_category', columnNames: ['category'] }));
    await q.createTable(
      new Table({
        name: 'app_user',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'username', type: 'varchar', length: '100', isUnique: true },
          { name: 'password_hash', type: 'varchar', length: '300' },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'session',
        columns: [
          { name: 'id', type: 'varchar', length: '128', isPrimary: true },
          { name: 'data', type: 'text' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex('session', new TableIndex({ name: 'idx_session_expires', columnNames: ['expires_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('session');
    await q.dropTable('app_user');
    await q.dropTable('post');
  }
}
