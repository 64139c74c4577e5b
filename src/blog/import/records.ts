import { validatePostInput, type PostInput } from '../services/posts.ts';
import { firstFreeSlug, isSlug, slugify, SLUG_MAX } from '../services/slugs.ts';
import { findJsonSyntaxError } from './json-syntax.ts';

/**
 * One valid record of an import file. It names its post by `id` when it has one, otherwise by
 * its slug: the `slug` field, or one made from its title (a title repeated in the file gets `-2`,
 * `-3`, … in file order, so the same file always names the same posts).
 */
export interface ImportRecord {
  /** Its place in the file, from 1. */
  number: number;
  input: PostInput;
  createdAt: Date;
  /** The post's id, when the record names one. */
  id?: number;
  /** The slug: given, or made from the title; undefined for a record with an `id` and no `slug`. */
  slug?: string;
}

/** What is wrong with one field of one record. */
export interface RecordProblem {
  /** The record's place in the file, from 1. */
  number: number;
  /** Its title, when it has one (shortened). */
  title?: string;
  field: string;
  reason: string;
}

/** The file as a whole cannot be imported (not JSON, not an array); the message says why and where. */
export class ImportFileError extends Error {
  override name = 'ImportFileError';
}

/**
 * Parses and checks a JSON array of `{ title, category, body, created_at, published, slug?, id? }`
 * (the shape of `npm run posts:generate`). Every record is checked, and every problem returned,
 * before anything is written.
 */
export function parseImportFile(text: string, source = 'input'): { records: ImportRecord[]; problems: RecordProblem[] } {
  const data = parseJson(text.replace(/^\uFEFF/, ''), source);
  if (!Array.isArray(data)) throw new ImportFileError(`${source} must hold a JSON array of posts, not ${data === null ? 'null' : typeof data === 'object' ? 'an object' : `a ${typeof data}`}`);
  const problems: RecordProblem[] = [];
  const checked: ImportRecord[] = [];
  data.forEach((raw: unknown, i) => {
    const record = checkRecord(raw, i + 1, problems);
    if (record !== undefined) checked.push(record);
  });
  return { records: nameRecords(checked, problems), problems: problems.sort((a, b) => a.number - b.number) };
}

/** One line per bad record, at most `limit` of them, then how many more there are. */
export function describeProblems(problems: readonly RecordProblem[], limit = 20): string[] {
  const byRecord = new Map<number, RecordProblem[]>();
  for (const problem of problems) byRecord.set(problem.number, [...(byRecord.get(problem.number) ?? []), problem]);
  const lines = [...byRecord.values()].slice(0, limit).map((list) => {
    const title = list[0].title === undefined ? '' : ` (${JSON.stringify(list[0].title)})`;
    return `record ${list[0].number}${title}: ${list.map((p) => `"${p.field}": ${p.reason}`).join('; ')}`;
  });
  if (byRecord.size > limit) lines.push(`… and ${byRecord.size - limit} more bad records`);
  return lines;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const found = findJsonSyntaxError(text);
    if (found === undefined) throw new ImportFileError(`${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    throw new ImportFileError(`${source}:${found.line}:${found.column}: not valid JSON: ${found.reason}`);
  }
}

function checkRecord(raw: unknown, number: number, problems: RecordProblem[]): ImportRecord | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({ number, field: 'record', reason: 'expected an object' });
    return undefined;
  }
  const fields = raw as Record<string, unknown>;
  const title = typeof fields.title === 'string' && fields.title.trim() !== '' ? shorten(fields.title.trim()) : undefined;
  const found: RecordProblem[] = [];
  const problem = (field: string, reason: string) => found.push({ number, title, field, reason });

  const checked = validatePostInput({ ...fields, published: fields.published === true ? 'on' : '' });
  if (!checked.ok) for (const [field, reason] of Object.entries(checked.errors)) problem(field, reason);
  if (typeof fields.published !== 'boolean') problem('published', 'must be true or false');
  const createdAt = typeof fields.created_at === 'string' && /^\d{4}-\d{2}-\d{2}/.test(fields.created_at) ? new Date(fields.created_at) : undefined;
  if (createdAt === undefined || Number.isNaN(createdAt.getTime())) problem('created_at', 'must be an ISO 8601 date, e.g. "2024-05-01T12:00:00Z"');
  if (fields.slug !== undefined && (typeof fields.slug !== 'string' || !isSlug(fields.slug))) {
    problem('slug', `lowercase letters, digits and single dashes only, at most ${SLUG_MAX} characters`);
  }
  if (fields.id !== undefined && !(typeof fields.id === 'number' && Number.isSafeInteger(fields.id) && fields.id > 0)) {
    problem('id', 'must be a positive whole number');
  }
  problems.push(...found);
  if (found.length > 0 || !checked.ok || createdAt === undefined) return undefined;
  return {
    number,
    input: checked.input,
    createdAt,
    id: typeof fields.id === 'number' ? fields.id : undefined,
    slug: typeof fields.slug === 'string' ? fields.slug : undefined,
  };
}

/**
 * Gives every record without `id` or `slug` a slug from its title, avoiding the slugs the file
 * names, and reports two records that name the same post.
 */
function nameRecords(records: ImportRecord[], problems: RecordProblem[]): ImportRecord[] {
  const given = new Set(records.flatMap((r) => (r.slug === undefined ? [] : [r.slug])));
  const named = records.map((r) => {
    if (r.slug !== undefined || r.id !== undefined) return r;
    const slug = firstFreeSlug(slugify(r.input.title), (s) => given.has(s));
    given.add(slug);
    return { ...r, slug };
  });
  const firstWith = new Map<string, number>();
  const unique: ImportRecord[] = [];
  for (const r of named) {
    const keys = [...(r.id === undefined ? [] : [`id ${r.id}`]), ...(r.slug === undefined ? [] : [`slug "${r.slug}"`])];
    const clash = keys.find((key) => firstWith.has(key));
    if (clash !== undefined) {
      problems.push({ number: r.number, title: shorten(r.input.title), field: clash.startsWith('id') ? 'id' : 'slug', reason: `${clash} is also record ${firstWith.get(clash)}'s` });
      continue;
    }
    for (const key of keys) firstWith.set(key, r.number);
    unique.push(r);
  }
  return unique;
}

function shorten(title: string): string {
  return title.length > 60 ? `${title.slice(0, 59)}…` : title;
}
