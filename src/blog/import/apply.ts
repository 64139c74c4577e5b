import type { PostService } from '../services/posts.ts';
import type { ImportPlan } from './plan.ts';

/** Posts written per transaction: one commit (and one outbox row) each. */
export const IMPORT_BATCH = 500;

/** An import that stopped part-way: the batches before it are kept (importing again finishes it). */
export class ImportWriteError extends Error {
  override name = 'ImportWriteError';
}

/**
 * Writes a plan through PostService in batches of {@link IMPORT_BATCH}, each one transaction that
 * also records its invalidation, reporting progress after each; resolves once every batch's
 * invalidation has been handed to the cache (or left in the outbox).
 */
export async function applyImport(posts: PostService, plan: ImportPlan, progress: (done: number, total: number) => void = () => {}): Promise<void> {
  const total = plan.creates.length + plan.replaces.length;
  let done = 0;
  const batches = [
    ...chunks(plan.creates).map((creates) => ({ creates, size: creates.length })),
    ...chunks(plan.replaces).map((replaces) => ({ replaces, size: replaces.length })),
  ];
  for (const batch of batches) {
    try {
      await posts.saveBatch(batch);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ImportWriteError(`stopped after ${done} of ${total} posts: ${reason}. The posts written are kept; importing the file again finishes the rest.`);
    }
    done += batch.size;
    progress(done, total);
  }
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IMPORT_BATCH) out.push(items.slice(i, i + IMPORT_BATCH));
  return out;
}
