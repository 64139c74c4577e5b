import type { NewPost, Post, PostReplacement } from '../services/posts.ts';
import { firstFreeSlug, slugify } from '../services/slugs.ts';
import type { ImportRecord, RecordProblem } from './records.ts';

/** What an import will do: posts to create and to replace, how many are already as the file says. */
export interface ImportPlan {
  creates: NewPost[];
  replaces: PostReplacement[];
  unchanged: number;
  /** Records that cannot be imported as they stand (a slug another post has). */
  problems: RecordProblem[];
}

/** What planning reads from the database (PostService; an empty one for a database not created yet). */
export interface StoredPosts {
  findBySlugsOrIds(slugs: readonly string[], ids: readonly number[]): Promise<Post[]>;
  freeSlug(base: string, claimed?: ReadonlySet<string>): Promise<string>;
}

/** Stored posts of a database that has none (a dry run before the first import). */
export const NO_POSTS: StoredPosts = {
  findBySlugsOrIds: async () => [],
  freeSlug: async (base, claimed) => firstFreeSlug(base, (slug) => claimed?.has(slug) ?? false),
};

/**
 * Matches every record to the post it names (by `id`, else by slug) and decides: create it,
 * replace it (some field differs), or leave it (unchanged). Reads only; nothing is written.
 */
export async function planImport(stored: StoredPosts, records: readonly ImportRecord[]): Promise<ImportPlan> {
  const slugs = records.flatMap((r) => (r.slug === undefined ? [] : [r.slug]));
  const ids = records.flatMap((r) => (r.id === undefined ? [] : [r.id]));
  const existing = await stored.findBySlugsOrIds(slugs, ids);
  const byId = new Map(existing.map((post) => [post.id, post]));
  const bySlug = new Map(existing.map((post) => [post.slug, post]));
  const claimed = new Set(slugs);
  const plan: ImportPlan = { creates: [], replaces: [], unchanged: 0, problems: [] };

  for (const record of records) {
    const target = record.id === undefined ? bySlug.get(record.slug ?? '') : byId.get(record.id);
    if (record.id !== undefined && record.slug !== undefined) {
      const owner = bySlug.get(record.slug);
      if (owner !== undefined && owner.id !== record.id) {
        plan.problems.push({ number: record.number, title: record.input.title, field: 'slug', reason: `"${record.slug}" is post ${owner.id}'s` });
        continue;
      }
    }
    if (target === undefined) {
      let slug = record.slug;
      if (slug === undefined) {
        slug = await stored.freeSlug(slugify(record.input.title), claimed);
        claimed.add(slug);
      }
      plan.creates.push({ input: record.input, createdAt: record.createdAt, slug, id: record.id });
      continue;
    }
    const slug = record.slug ?? target.slug;
    if (isUnchanged(target, record, slug)) plan.unchanged += 1;
    else plan.replaces.push({ before: target, input: record.input, createdAt: record.createdAt, slug });
  }
  return plan;
}

function isUnchanged(post: Post, record: ImportRecord, slug: string): boolean {
  const { input } = record;
  return (
    post.title === input.title &&
    post.body === input.body &&
    post.category === input.category &&
    post.published === input.published &&
    post.createdAt.getTime() === record.createdAt.getTime() &&
    post.slug === slug
  );
}
