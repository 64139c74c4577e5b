import { validatePostInput, type PostInput, type PostService } from './services/posts.ts';

/** One validated record of an import file. */
export interface ImportRecord {
  input: PostInput;
  createdAt: Date;
  slug?: string;
}

/** A record of an import file that is not a valid post; the message names it. */
export class ImportError extends Error {
  override name = 'ImportError';
}

/**
 * Parses and validates a JSON array of `{title, slug?, category, body, created_at, published}`
 * (the format of shared/bench/posts.json). Every record is checked before anything is written.
 */
export function parseImportFile(text: string, source = 'input'): ImportRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ImportError(`${source} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(data)) throw new ImportError(`${source} must hold a JSON array of posts`);
  return data.map((raw: unknown, i) => {
    const where = `record ${i + 1}${isRecord(raw) && typeof raw.title === 'string' ? ` ("${raw.title.slice(0, 60)}")` : ''}`;
    if (!isRecord(raw)) throw new ImportError(`${where}: expected an object`);
    if (typeof raw.published !== 'boolean') throw new ImportError(`${where}: "published" must be true or false`);
    const createdAt = new Date(typeof raw.created_at === 'string' ? raw.created_at : Number.NaN);
    if (Number.isNaN(createdAt.getTime())) throw new ImportError(`${where}: "created_at" must be an ISO 8601 date`);
    const checked = validatePostInput({ ...raw, published: raw.published ? 'on' : '' });
    if (!checked.ok) {
      const problems = Object.entries(checked.errors).map(([field, msg]) => `"${field}": ${msg}`);
      throw new ImportError(`${where}: ${problems.join('; ')}`);
    }
    if (raw.slug !== undefined && typeof raw.slug !== 'string') throw new ImportError(`${where}: "slug" must be text`);
    return { input: checked.input, createdAt, slug: raw.slug };
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Writes the records in batches of 100 transactions, reporting progress; returns the count. */
export async function importPosts(
  posts: PostService,
  records: readonly ImportRecord[],
  progress: (done: number, total: number) => void = () => {},
): Promise<number> {
  const BATCH = 100;
  for (let start = 0; start < records.length; start += BATCH) {
    const batch = records.slice(start, start + BATCH);
    await posts.transaction(async (tx) => {
      for (const record of batch) await tx.create(record.input, { createdAt: record.createdAt, slug: record.slug });
    });
    progress(start + batch.length, records.length);
  }
  return records.length;
}
