import { EntitySchema } from 'typeorm';
import { bigintNumber } from './columns.ts';

/** A server-side session: the cookie holds only its id, so deleting the row revokes it. */
export interface SessionRow {
  id: string;
  data: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** The `session` table. */
export const SessionEntity = new EntitySchema<SessionRow>({
  name: 'Session',
  tableName: 'session',
  columns: {
    id: { type: 'varchar', length: 128, primary: true },
    data: { type: 'text' },
    expiresAt: { type: 'bigint', name: 'expires_at', transformer: bigintNumber },
  },
  indices: [{ name: 'idx_session_expires', columns: ['expiresAt'] }],
});
