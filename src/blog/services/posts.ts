import { In, type DataSource, type EntityManager, type Repository } from 'typeorm';
import { systemClock, type Clock } from '../../cache/index.ts';
import { PostEntity, type PostRow } from '../entities/post.ts';
import type { NewPost, Post, PostInput, PostPage } from './post-shapes.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { nestingProblem } from '../markdown-nesting.ts';
import { authorCategories, authorList, type AuthorListFilter, type AuthorListPage } from './author-list.ts';
import { PublishedListing } from './listing.ts';
import { insertPosts } from './post-inserts.ts';
import type { CacheOutbox, OutboxEntry } from './outbox.ts';
import { freeSlug, slugify } from './slugs.ts';
import { isUniqueViolation, writeTransaction } from './write-transactions.ts';

export { slugify } from './slugs.ts';
export type { NewPost, Post, PostInput, PostPage } from './post-shapes.ts';


/** What decides which cached pages show a post. */
export type PostFacts = Pick<Post, 'title' | 'category' | 'published' | 'createdAt'>;

/** What one write does to one post: its facts before and after (null: absent). */
export interface PostChange {
  /** The post's id; null for a post being created, which no cached page can show yet. */
  id: number | null;
  before: PostFacts | null;
  after: PostFacts | null;
}

/**
 * Where post writes announce themselves (wired in src/blog/writes.ts): every write records the
 * tags it makes stale in its own transaction, and they are invalidated after the commit.
 */
export interface PostWriteHook {
  /** The cache tags `changes` make stale; the blog's caching module decides them. */
  tagsFor(changes: readonly PostChange[]): string[];
  /** Records the tags inside the write's transaction and delivers them after the commit. */
  outbox: CacheOutbox;
}

/** A stored post to replace in a batch with new fields. */
export interface PostReplacement {
  before: Post;
  input: PostInput;
  createdAt: Date;
  slug: string;
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
  else {
    const tooDeep = nestingProblem(values.body);
    if (tooDeep !== undefined) errors.body = tooDeep;
  }
  if (values.category === '') errors.category = 'A category is required.';
  else if (values.category.length > POST_LIMITS.category || !CATEGORY.test(values.category)) {
    errors.category = 'Lowercase letters, digits and single dashes only (e.g. "web-dev").';
  }
  const published = ['on', '1', 'true', true].includes(fields.published as string | boolean);
  if (Object.keys(errors).length > 0) return { ok: false, errors, values: { ...values, published: published ? 'on' : '' } };
  return { ok: true, input: { ...values, published } };
}

/**
 * Attempts of a write that lost a race for a slug (PostgreSQL: two creates picked the same
 * suffix). Each round of a race is won by one of its writes, so N creates of one title at the
 * same moment need up to N attempts.
 */
const SLUG_ATTEMPTS = 10;

/**
 * Reads and writes posts; the only place that knows how posts are queried, and the one path of
 * every post write: each runs in a transaction that also records, through the write hook, the
 * cache tags it makes stale, invalidated once it has committed.
 */
export class PostService {
  private readonly repo: Repository<PostRow>;
  private readonly listing: PublishedListing;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock = systemClock,
    /** Without one, writes announce nothing (tests and read-only tools). */
    private readonly hook?: PostWriteHook,
  ) {
    this.repo = db.getRepository(PostEntity);
    this.listing = new PublishedListing(db);
  }

  /**
   * Published posts, newest first, `perPage` a page, optionally of one category; past the last
   * page, no posts (known from the count alone). Costs about the same at any page and any number
   * of posts (see PublishedListing).
   */
  listPublished(opts: { page: number; perPage?: number; category?: string }): Promise<PostPage> {
    return this.listing.page({ page: opts.page, perPage: opts.perPage ?? 10, category: opts.category });
  }

  /** Every post, drafts included, newest first (the author's list). */
  listAll(): Promise<Post[]> {
    return this.repo.find({ order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /** One page of the author's list: drafts included, filtered, newest first, without bodies (author-list.ts). */
  listForAuthor(filter: AuthorListFilter): Promise<AuthorListPage> {
    return authorList(this.db, filter);
  }

  /** Every category in use, drafts included, by name. */
  categoriesForAuthor(): Promise<string[]> {
    return authorCategories(this.db);
  }

  /** One post; drafts only when `includeDrafts`. */
  async get(id: number, opts: { includeDrafts?: boolean } = {}): Promise<Post | null> {
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const post = await this.repo.findOneBy({ id });
    if (post === null || (!post.published && !opts.includeDrafts)) return null;
    return post;
  }

  /** The stored posts having one of `slugs` or one of `ids` (an import matches records by them). */
  async findBySlugsOrIds(slugs: readonly string[], ids: readonly number[]): Promise<Post[]> {
    const found = new Map<number, Post>();
    const CHUNK = 500;
    for (let i = 0; i < slugs.length; i += CHUNK) {
      for (const post of await this.repo.findBy({ slug: In(slugs.slice(i, i + CHUNK)) })) found.set(post.id, post);
    }
    for (let i = 0; i < ids.length; i += CHUNK) {
      for (const post of await this.repo.findBy({ id: In(ids.slice(i, i + CHUNK)) })) found.set(post.id, post);
    }
    return [...found.values()];
  }

  /** The first free slug of `base` that is not in `claimed` either (see slugs.ts). */
  freeSlug(base: string, claimed?: ReadonlySet<string>): Promise<string> {
    return freeSlug(this.db.manager, base, claimed);
  }

  /**
   * Creates a post, dated now unless `createdAt` is given, slugged from its title unless `slug`
   * is; a slug already taken gets the first free `-2`, `-3`, … suffix.
   */
  async create(input: PostInput, opts: { createdAt?: Date; slug?: string } = {}): Promise<Post> {
    const now = new Date(this.clock.now());
    const createdAt = opts.createdAt ?? now;
    const base = slugify(opts.slug ?? input.title);
    return this.racingForSlugs(() =>
      this.write(async (manager, announce) => {
        // Announced first: on SQLite the outbox row takes the write lock before the slug is read.
        await announce([{ id: null, before: null, after: { ...input, createdAt } }]);
        const repo = manager.getRepository(PostEntity);
        const slug = await freeSlug(manager, base);
        return repo.save(repo.create({ ...input, slug, createdAt, updatedAt: now, version: 1 }));
      }),
    );
  }

  /**
   * Replaces a post's fields (its slug stays: slugs identify posts, e.g. to imports). With
   * `expectedVersion`, refuses (ConflictError) when the stored post has moved on since the author
   * loaded it: the check and the write are one statement.
   */
  async update(id: number, input: PostInput, expectedVersion?: number): Promise<{ before: Post; after: Post }> {
    const before = await this.get(id, { includeDrafts: true });
    if (before === null) throw new NotFoundError();
    const version = expectedVersion ?? before.version;
    const changes = { ...input, updatedAt: new Date(this.clock.now()), version: version + 1 };
    const after: Post = { ...before, ...changes };
    const saved = await this.write(async (manager, announce) => {
      const result = await manager.getRepository(PostEntity).update({ id, version }, changes);
      if (result.affected !== 1) return false;
      await announce([{ id, before, after }]);
      return true;
    });
    if (!saved) {
      if ((await this.repo.existsBy({ id })) === false) throw new NotFoundError();
      throw new ConflictError();
    }
    return { before, after };
  }

  /** Deletes a post and returns what it was, or null if there was none. */
  async remove(id: number): Promise<Post | null> {
    // The delete names the version it read, so the change announced is the row deleted; an
    // edit in between makes it read again.
    for (let attempt = 0; attempt < 10; attempt++) {
      const post = await this.get(id, { includeDrafts: true });
      if (post === null) return null;
      const deleted = await this.write(async (manager, announce) => {
        const result = await manager.getRepository(PostEntity).delete({ id, version: post.version });
        if (result.affected !== 1) return false;
        await announce([{ id, before: post, after: null }]);
        return true;
      });
      if (deleted) return post;
    }
    throw new ConflictError('This post kept changing while it was being deleted');
  }

  /**
   * Creates and replaces posts in one transaction (an import batch, the demo posts). Slugs must
   * be free; a replaced post that changed since it was read fails the batch (ConflictError).
   */
  async saveBatch(batch: { creates?: readonly NewPost[]; replaces?: readonly PostReplacement[] }): Promise<void> {
    const creates = batch.creates ?? [];
    const replaces = batch.replaces ?? [];
    if (creates.length === 0 && replaces.length === 0) return;
    const now = new Date(this.clock.now());
    const changes: PostChange[] = [
      ...creates.map((c) => ({ id: c.id ?? null, before: null, after: { ...c.input, createdAt: c.createdAt } })),
      ...replaces.map((r) => ({ id: r.before.id, before: r.before, after: { ...r.input, createdAt: r.createdAt } })),
    ];
    const explicitIds = this.db.options.type === 'postgres' && creates.some((c) => c.id !== undefined);
    await this.write(async (manager, announce) => {
      await announce(changes);
      await insertPosts(manager, creates, now);
      const repo = manager.getRepository(PostEntity);
      for (const r of replaces) {
        const fields = { ...r.input, slug: r.slug, createdAt: r.createdAt, updatedAt: now, version: r.before.version + 1 };
        const result = await repo.update({ id: r.before.id, version: r.before.version }, fields);
        if (result.affected !== 1) throw new ConflictError(`Post ${r.before.id} ("${r.before.title}") changed during the import`);
      }
      if (explicitIds) {
        // Ids given explicitly leave the sequence behind; the next post must not collide with them.
        await manager.query(`SELECT setval(pg_get_serial_sequence('post', 'id'), (SELECT MAX(id) FROM post))`);
      }
    });
  }

  /** Categories of published posts with their counts, by name (from the kept counts: no scan). */
  categories(): Promise<{ name: string; count: number }[]> {
    return this.listing.categories();
  }

  /** Every category in use, drafts included, by name: the editor offers them. */
  async categoryNames(): Promise<string[]> {
    const rows: { name: string }[] = await this.repo.createQueryBuilder('p').select('DISTINCT p.category', 'name').orderBy('name', 'ASC').getRawMany();
    return rows.map((r) => r.name);
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

  /**
   * The one path of every write: `work` runs in a transaction and calls `announce` with what it
   * changed, which records the tags in the same transaction; after the commit they are
   * invalidated, and only then does the write resolve (so the author's 303 follows it).
   */
  private async write<T>(work: (manager: EntityManager, announce: (changes: readonly PostChange[]) => Promise<void>) => Promise<T>): Promise<T> {
    const hook = this.hook;
    const recorded: OutboxEntry[] = [];
    let value: T;
    try {
      value = await writeTransaction(this.db, (manager) =>
        work(manager, async (changes) => {
          const entry = hook === undefined ? null : await hook.outbox.record(manager, hook.tagsFor(changes));
          if (entry !== null) recorded.push(entry);
        }),
      );
    } catch (error) {
      for (const entry of recorded) await hook?.outbox.rolledBack(entry);
      throw error;
    }
    for (const entry of recorded) await hook?.outbox.committed(entry);
    return value;
  }

  /** Runs `write` again when it lost a race for a slug to a concurrent transaction. */
  private async racingForSlugs<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (attempt >= SLUG_ATTEMPTS || !isUniqueViolation(error)) throw error;
      }
    }
  }
}
