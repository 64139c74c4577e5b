/** Largest id a URL may name; anything longer is not an id of ours. */
const ID = /^[1-9][0-9]{0,14}$/;
const PAGE = /^[1-9][0-9]{0,5}$/;
const CATEGORY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The numeric id in a URL segment, or null when it is not a plain positive integer. */
export function parseId(raw: string | undefined): number | null {
  return raw !== undefined && ID.test(raw) ? Number(raw) : null;
}

/** The `?page=` value: 1 when absent, null when not a plain positive integer (or repeated). */
export function parsePage(raw: string | string[] | undefined): number | null {
  if (raw === undefined) return 1;
  return typeof raw === 'string' && PAGE.test(raw) ? Number(raw) : null;
}

/** The category slug in a URL, or null when it cannot be a category name. */
export function parseCategory(raw: string | undefined): string | null {
  return raw !== undefined && raw.length <= 60 && CATEGORY.test(raw) ? raw : null;
}
