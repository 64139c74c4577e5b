import type { EntityManager } from 'typeorm';
import { PostEntity } from '../entities/post.ts';

/** The longest slug stored (the `post.slug` column). */
export const SLUG_MAX = 200;

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

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

/** Whether `text` is a slug as stored: lowercase ASCII letters and digits in dash-separated runs. */
export function isSlug(text: string): boolean {
  return text.length <= SLUG_MAX && SLUG.test(text);
}

/** `base` with the suffix `-n`, shortened so the whole fits the column. */
export function suffixedSlug(base: string, n: number): string {
  const suffix = `-${n}`;
  return base.slice(0, SLUG_MAX - suffix.length) + suffix;
}

/** The first of `base`, `base-2`, `base-3`, … for which `taken` is false. */
export function firstFreeSlug(base: string, taken: (slug: string) => boolean): string {
  if (!taken(base)) return base;
  let n = 2;
  while (taken(suffixedSlug(base, n))) n += 1;
  return suffixedSlug(base, n);
}

/**
 * The first free slug of `base` in the database (and not in `claimed`): slugs are unique (a
 * unique index), so a second "Hello" becomes `hello-2`. Read inside the write's transaction.
 */
export async function freeSlug(manager: EntityManager, base: string, claimed: ReadonlySet<string> = new Set()): Promise<string> {
  // Slugs hold only [a-z0-9-], so the LIKE pattern has no wildcard of its own.
  const rows: { slug: string }[] = await manager
    .getRepository(PostEntity)
    .createQueryBuilder('p')
    .select('p.slug', 'slug')
    .where('p.slug = :base OR p.slug LIKE :prefix', { base, prefix: `${base}-%` })
    .getRawMany();
  const stored = new Set(rows.map((row) => row.slug));
  return firstFreeSlug(base, (slug) => stored.has(slug) || claimed.has(slug));
}
