import { EntitySchema } from 'typeorm';

/** The author's account; the password is kept only as an scrypt hash. */
export interface UserRow {
  id: number;
  username: string;
  passwordHash: string;
}

/** The `app_user` table (`user` is reserved in PostgreSQL). */
export const UserEntity = new EntitySchema<UserRow>({
  name: 'User',
  tableName: 'app_user',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    username: { type: 'varchar', length: 100, unique: true },
    passwordHash: { type: 'varchar', length: 300, name: 'password_hash' },
  },
});
