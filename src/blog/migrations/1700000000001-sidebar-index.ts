import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * An index that covers the sidebar's "categories with counts" query: without it the
 * query scans every published row; with it, it reads the index alone, already grouped in order.
 */
export class SidebarIndex1700000000001 implements MigrationInterface {
  name = 'SidebarIndex1700000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.createIndex('post', new TableIndex({ name: 'idx_post_published_category', columnNames: ['published', 'category'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('post', 'idx_post_published_category');
  }
}
