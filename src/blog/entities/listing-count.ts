import { EntitySchema } from 'typeorm';

/**
 * How many published posts one listing has: `listing` is a category, or `''` for the index (every
 * published post; no category is empty, see validatePostInput). Kept by triggers on `post` (migration PostsAtScale1700000000006), never
 * written by the application.
 */
export interface ListingCountRow {
  listing: string;
  posts: number;
}

/** How many published posts of one listing were created on one UTC day (`YYYY-MM-DD`), kept like {@link ListingCountRow}. */
export interface ListingDayCountRow {
  listing: string;
  day: string;
  posts: number;
}

/** The `listing_count` table. */
export const ListingCountEntity = new EntitySchema<ListingCountRow>({
  name: 'ListingCount',
  tableName: 'listing_count',
  columns: {
    listing: { type: 'varchar', length: 60, primary: true },
    posts: { type: 'integer' },
  },
});

/** The `listing_day_count` table. */
export const ListingDayCountEntity = new EntitySchema<ListingDayCountRow>({
  name: 'ListingDayCount',
  tableName: 'listing_day_count',
  columns: {
    listing: { type: 'varchar', length: 60, primary: true },
    day: { type: 'varchar', length: 10, primary: true },
    posts: { type: 'integer' },
  },
});
