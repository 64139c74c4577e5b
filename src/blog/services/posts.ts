import type { DataSource, EntityManager, Repository } from 'typeorm';
import { systemClock, type Clock } from '../../cache/index.ts';
import { PostEntity, type PostRow } from '../entities/post.ts';
import { ConflictError, NotFoundError } from '../errors.ts';

/** A post as the rest of the blog sees it. */
export type Post = PostRow;

/** What the author submits for a post. */
export interface PostInput {
  title: string;
  body: string;
  category: string;
  published: boolean;
}

/** One page of posts. `pages` is at least 1, so an empty blog still has page 1. */
export interface PostPage {
  posts: Post[];
  page: number;
  pages: number;
  total: number;
}

/** Field limits shared by validation and the forms. */
export const POST_LIMITS = { title: 200, body: 100_000, category: 60 } as const;

const CATEGORY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Validates form or JSON fields into a `PostInput`, or says what is wrong with each field. */
export function validatePostInput(
  fields: Record<string, unknown>,
): { ok: true; input: PostInput } | { ok: false; errors: Record<string, string>; values: Record<string, string> } {
  const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : '');
  const values = { title: text('title').trim(), body: text('body'), category: text('category').trim().toLowerCase() };
  const errors: Record<string, string> = {};
  if (values.title === '') errors.title = 'A title is required.';
  else if (values.title.length > POST_LIMITS.title) errors.title = `At most ${POST_LIMITS.title} characters.`;
  if (values.body.trim() === '') errors.body = 'The post needs a body.';
  else if (values.body.length > POST_LIMITS.body) errors.body = `At most ${POST_LIMITS.body} characters.`;
  if (values.category === '') errors.category = 'A category is required.';
  else if (values.category.length > POST_LIMITS.category || !CATEGORY.test(values.category)) {
    errors.category = 'Lowercase letters, digits and single dashes only (e.g. "web-dev").';
  }
  const published = ['on', '1', 'true', true].includes(fields.published as string | boolean);
  if (Object.keys(errors).length > 0) return { ok: false, errors, values: { ...values, published: published ? 'on' : '' } };
  return { ok: true, input: { ...values, published } };
}

/** Turns a title into a URL slug (ASCII, dashes, at most 80 characters). */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
  return slug || 'post';
}

/** Reads and writes posts; the only place that knows how posts are queried. */
export class PostService {
  private readonly repo: Repository<PostRow>;

  constructor(
    private readonly db: DataSource | EntityManager,
    private readonly clock: Clock = systemClock,
  ) {
    this.repo = db.getRepository(PostEntity);
  }

  /** Published posts, newest first, `perPage` a page, optionally of one category. */
  async listPublished(opts: { page: number; perPage?: number; category?: string }): Promise<PostPage> {
    const perPage = opts.perPage ?? 10;
    const where = opts.category === undefined ? { published: true } : { published: true, category: opts.category };
    const [posts, total] = await this.repo.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: (opts.page - 1) * perPage,
      take: perPage,
    });
    return { posts, page: opts.page, pages: Math.max(1, Math.ceil(total / perPage)), total };
  }

  /** Every post, drafts included, newest first (the author's list). */
  listAll(): Promise<Post[]> {
    return this.repo.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** One post; drafts only when `includeDrafts`. */
  async get(id: number, opts: { includeDrafts?: boolean } = {}): Promise<Post | null> {
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const post = await this.repo.findOneBy({ id });
    if (post === null || (!post.published && !opts.includeDrafts)) return null;
    return post;
  }

  /** Creates a post, dated now unless `createdAt` is given (imports), slugged from its title unless `slug` is. */
  create(input: PostInput, opts: { createdAt?: Date; slug?: string } = {}): Promise<Post> {
    const now = new Date(this.clock.now());
    const slug = opts.slug === undefined ? slugify(input.title) : slugify(opts.slug);
    return this.repo.save(this.repo.create({ ...input, slug, createdAt: opts.createdAt ?? now, updatedAt: now, version: 1 }));
  }

  /**
   * Replaces a post's fields. With `expectedVersion`, refuses (ConflictError) when the stored
   * post has moved on since the author loaded it: the check and the write are one statement.
   */
  async update(id: number, input: PostInput, expectedVersion?: number): Promise<{ before: Post; after: Post }> {
    const before = await this.get(id, { includeDrafts: true });
    if (before === null) throw new NotFoundError();
    const version = expectedVersion ?? before.version;
    const changes = { ...input, slug: slugify(input.title), updatedAt: new Date(this.clock.now()), version: version + 1 };
    const result = await this.repo.update({ id, version }, changes);
    if (result.affected !== 1) {
      if ((await this.repo.existsBy({ id })) === false) throw new NotFoundError();
      throw new ConflictError();
    }
    return { before, after: { ...before, ...changes } };
  }

  /** Deletes a post and returns what it was, or null if there was none. */
  async remove(id: number): Promise<Post | null> {
    const post = await this.get(id, { includeDrafts: true });
    if (post === null) return null;
    await this.repo.delete({ id });
    return post;
  }

  /** Categories of published posts with their counts, by name. */
  async categories(): Promise<{ name: string; count: number }[]> {
    const rows: { name: string; count: string | number }[] = await this.repo
      .createQueryBuilder('p')
      .select('p.category', 'name')
      .addSelect('COUNT(*)', 'count')
      .where('p.published = :published', { published: true })
      .groupBy('p.category')
      .orderBy('p.category', 'ASC')
      .getRawMany();
    return rows.map((r) => ({ name: r.name, count: Number(r.count) }));
  }

  /** The `n` newest published posts. */
  latest(n = 5): Promise<Post[]> {
    return this.repo.find({ where: { published: true }, order: { createdAt: 'DESC', id: 'DESC' }, take: n });
  }

  /** The posts of the Atom feed. */
  feed(n = 20): Promise<Post[]> {
    return this.latest(n);
  }

  /** How many posts exist, drafts included. */
  count(): Promise<number> {
    return this.repo.count();
  }

  /** Runs `work` in one transaction with a service bound to it (bulk imports). */
  transaction<T>(work: (posts: PostService) => Promise<T>): Promise<T> {
    return this.db.transaction((manager) => work(new PostService(manager, this.clock)));
  }
}
