import { EntitySchema } from 'typeorm';
import { isoDate } from './columns.ts';

/** A blog post as stored; `version` grows on every edit (optimistic concurrency). */
export interface PostRow {
  id: number;
  title: string;
  slug: string;
  category: string;
  body: string;
  published: boolean;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** The `post` table. Every column names its type so tsc, tsx and vitest load it alike. */
export const PostEntity = new EntitySchema<PostRow>({
  name: 'Post',
  tableName: 'post',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    title: { type: 'varchar', length: 200 },
    slug: { type: 'varchar', length: 200 },
    category: { type: 'varchar', length: 60 },
    body: { type: 'text' },
    published: { type: 'boolean', default: false },
    createdAt: { type: 'varchar', length: 30, name: 'created_at', transformer: isoDate },
    updatedAt: { type: 'varchar', length: 30, name: 'updated_at', transformer: isoDate },
    version: { type: 'integer', default: 1 },
  },
  indices: [
    { name: 'idx_post_published_created_id', columns: ['published', 'createdAt', 'id'] },
    { name: 'idx_post_published_category_created_id', columns: ['published', 'category', 'createdAt', 'id'] },
    { name: 'idx_post_category', columns: ['category'] },
    { name: 'idx_post_slug', columns: ['slug'], unique: true },
  ],
});
