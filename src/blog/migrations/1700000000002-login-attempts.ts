import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The `login_attempt` table: one row per client counting its login attempts in the current
 * window, shared by every Kiln process on the database (src/blog/services/login-attempts.ts).
 */
export class LoginAttempts1700000000002 implements MigrationInterface {
  name = 'LoginAttempts1700000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'login_attempt',
        columns: [
          { name: 'client', type: 'varchar', length: '100', isPrimary: true },
          { name: 'attempts', type: 'integer' },
          { name: 'expires_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex('login_attempt', new TableIndex({ name: 'idx_login_attempt_expires', columnNames: ['expires_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('login_attempt');
  }
}
