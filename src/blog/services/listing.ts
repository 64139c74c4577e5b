import type { DataSource, Repository } from 'typeorm';
import { ListingCountEntity, ListingDayCountEntity } from '../entities/listing-count.ts';
import { PostEntity, type PostRow } from '../entities/post.ts';
import type { PostPage } from './post-shapes.ts';

/** Which end of a listing a read starts from. */
type End = 'newest' | 'oldest';

/**
 * Rows skipped from the nearer end past which a read first finds the day its page starts in
 * (one small indexed read of `listing_day_count`) instead of skipping every row before it: below
 * this a plain OFFSET over the listing's index costs less than that extra read.
 */
export const SEEK_FROM = 200;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Reads published posts a page at a time, with costs that do not grow with the number of posts:
 * the total comes from `listing_count` (kept by triggers; see the PostsAtScale migration), so a
 * page past the end is known before any row is read; a page in the older half is read from the
 * oldest end and reversed; a page far from both ends starts at the day it falls in, found in
 * `listing_day_count`. Every page holds exactly the posts, in exactly the order
 * (`created_at DESC, id DESC`), that `LIMIT perPage OFFSET (page - 1) * perPage` gives.
 */
export class PublishedListing {
  private readonly posts: Repository<PostRow>;
  private readonly seekFrom: number;

  constructor(
    private readonly db: DataSource,
    /** `seekFrom`: rows skipped from the nearer end past which a read starts at its day (default {@link SEEK_FROM}). */
    options: { seekFrom?: number } = {},
  ) {
    this.posts = db.getRepository(PostEntity);
    this.seekFrom = options.seekFrom ?? SEEK_FROM;
  }

  /** Page `page` of the published posts (of one category), `perPage` a page; past the end: no posts. */
  async page(opts: { page: number; perPage: number; category?: string }): Promise<PostPage> {
    const { page, perPage, category } = opts;
    const total = await this.total(category);
    const pages = Math.max(1, Math.ceil(total / perPage));
    const offset = (page - 1) * perPage;
    const take = Math.min(perPage, total - offset);
    if (page > pages || take <= 0) return { posts: [], page, pages, total };
    const after = total - offset - take;
    const posts = offset <= after ? await this.read(category, 'newest', offset, take) : (await this.read(category, 'oldest', after, take)).reverse();
    return { posts, page, pages, total };
  }

  /** How many published posts there are (in one category). */
  async total(category?: string): Promise<number> {
    const row: { posts: number | string } | undefined = await this.db
      .createQueryBuilder()
      .select('c.posts', 'posts')
      .from(ListingCountEntity, 'c')
      .where('c.listing = :listing', { listing: category ?? '' })
      .getRawOne();
    return row === undefined ? 0 : Number(row.posts);
  }

  /** Categories that have published posts, with their counts, by name. */
  async categories(): Promise<{ name: string; count: number }[]> {
    const rows: { name: string; count: number | string }[] = await this.db
      .createQueryBuilder()
      .select('c.listing', 'name')
      .addSelect('c.posts', 'count')
      .from(ListingCountEntity, 'c')
      .where("c.listing <> ''")
      .andWhere('c.posts > 0')
      .orderBy('c.listing', 'ASC')
      .getRawMany();
    return rows.map((r) => ({ name: r.name, count: Number(r.count) }));
  }

  /** `take` posts after skipping `skip` from `end`, in that end's order. */
  private async read(category: string | undefined, end: End, skip: number, take: number): Promise<PostRow[]> {
    const direction = end === 'newest' ? 'DESC' : 'ASC';
    const query = this.posts.createQueryBuilder('p').where('p.published = :published', { published: true });
    if (category !== undefined) query.andWhere('p.category = :category', { category });
    let offset = skip;
    if (skip >= this.seekFrom) {
      const start = await this.startDay(category ?? '', end, skip);
      const bound = start === undefined ? undefined : end === 'newest' ? nextDay(start.day) : isDay(start.day) ? start.day : undefined;
      if (start !== undefined && bound !== undefined) {
        // The days nearer `end` than the start day hold `start.before` posts: skip them by index.
        query.andWhere(end === 'newest' ? 'p.createdAt < :bound' : 'p.createdAt >= :bound', { bound });
        offset = skip - start.before;
      }
    }
    return query.orderBy('p.createdAt', direction).addOrderBy('p.id', direction).offset(offset).limit(take).getMany();
  }

  /**
   * The day holding the post `skip` places from `end` of a listing, and how many posts the days
   * nearer `end` hold; undefined when the counts do not reach that far.
   */
  private async startDay(listing: string, end: End, skip: number): Promise<{ day: string; before: number } | undefined> {
    const direction = end === 'newest' ? 'DESC' : 'ASC';
    const row: { day: string; before: number | string } | undefined = await this.db
      .createQueryBuilder()
      .select('w.day', 'day')
      .addSelect('w.reached - w.posts', 'before')
      .from((sub) => {
        return sub
          .select('d.day', 'day')
          .addSelect('d.posts', 'posts')
          .addSelect(`SUM(d.posts) OVER (ORDER BY d.day ${direction} ROWS UNBOUNDED PRECEDING)`, 'reached')
          .from(ListingDayCountEntity, 'd')
          .where('d.listing = :listing', { listing });
      }, 'w')
      .where('w.reached > :skip', { skip })
      .orderBy('w.day', direction)
      .limit(1)
      .getRawOne();
    return row === undefined ? undefined : { day: row.day, before: Number(row.before) };
  }
}

/** Whether `day` is a calendar day written `YYYY-MM-DD`. */
function isDay(day: string): boolean {
  const time = Date.parse(`${day}T00:00:00Z`);
  return DAY.test(day) && Number.isFinite(time) && new Date(time).toISOString().startsWith(day);
}

/** The day after `day` (`YYYY-MM-DD`): every time stamp of `day` sorts below it. Undefined for anything but a day. */
function nextDay(day: string): string | undefined {
  if (!isDay(day)) return undefined;
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  return DAY.test(next) ? next : undefined;
}
