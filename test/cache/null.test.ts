import { describe, expect, it } from 'vitest';
import { NullBackend } from '../../src/cache/backends/null.ts';
import { backendContract } from './backend-contract.ts';

backendContract('null', async () => new NullBackend(), undefined, { storesNothing: true });

describe('NullBackend', () => {
  it('reports an empty store', async () => {
    expect(await new NullBackend().stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it('returns the delta from incr without remembering it', async () => {
    const backend = new NullBackend();
    expect(await backend.incr('n', 3)).toBe(3);
    expect(await backend.incr('n', 3)).toBe(3);
  });
});
