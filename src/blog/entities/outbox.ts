import { EntitySchema } from 'typeorm';
import { bigintNumber } from './columns.ts';

/**
 * One committed write whose cache invalidation may not have run yet: the tags it makes stale.
 * Written in the write's own transaction, removed once the tags are invalidated.
 */
export interface OutboxRow {
  id: number;
  /** The cache tags to invalidate, as a JSON array of strings. */
  tags: string;
  /** When the write was made, in milliseconds since the epoch. */
  createdAt: number;
}

/** The `cache_outbox` table. */
export const OutboxEntity = new EntitySchema<OutboxRow>({
  name: 'CacheOutbox',
  tableName: 'cache_outbox',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    tags: { type: 'text' },
    createdAt: { type: 'bigint', name: 'created_at', transformer: bigintNumber },
  },
});
