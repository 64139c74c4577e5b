import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemBackend } from '../../src/cache/backends/filesystem.ts';
import { Cache } from '../../src/cache/cache.ts';
import { backendContract } from './backend-contract.ts';
import { FakeClock } from './helpers.ts';

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'kiln-fs-cache-'));
}

// The backends of one test share a folder, so prefix isolation is tested on one directory.
let contractDir = freshDir();

backendContract(
  'filesystem',
  async ({ prefix, clock }) => new FilesystemBackend({ dir: contractDir, prefix, clock }),
  () => {
    rmSync(contractDir, { recursive: true, force: true });
    contractDir = freshDir();
  },
);

describe('FilesystemBackend', () => {
  let dir: string;
  let clock: FakeClock;
  const files = () => readdirSync(dir).filter((name) => !name.startsWith('.'));

  beforeEach(() => {
    dir = freshDir();
    clock = new FakeClock();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files with mode 0600 under hashed names, leaving no temporary file', async () => {
    const backend = new FilesystemBackend({ dir, prefix: 'p:', clock });
    await backend.set('secret/key with spaces', 'value', 0);
    expect(readdirSync(dir)).toHaveLength(1);
    const [name] = files();
    expect(name).toMatch(/^[0-9a-f]{16}-[0-9a-f]{64}$/);
    expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('treats a truncated file as a miss and deletes it', async () => {
    const backend = new FilesystemBackend({ dir, clock });
    await backend.set('k', 'a value long enough to cut', 0);
    const path = join(dir, files()[0]);
    const data = readFileSync(path);
    writeFileSync(path, data.subarray(0, data.length - 5));
    expect(await backend.get('k')).toBeUndefined();
    expect(files()).toHaveLength(0);
  });

  it('treats a file with an altered byte as a miss', async () => {
    const backend = new FilesystemBackend({ dir, clock });
    await backend.set('k', 'original', 0);
    const path = join(dir, files()[0]);
    const data = readFileSync(path);
    data[data.length - 1] ^= 1;
    writeFileSync(path, data);
    expect(await backend.get('k')).toBeUndefined();
    expect(await backend.has('k')).toBe(false);
  });

  it('treats a file of another format as a miss', async () => {
    const backend = new FilesystemBackend({ dir, clock });
    await backend.set('k', 'v', 0);
    writeFileSync(join(dir, files()[0]), 'garbage without a header');
    expect(await backend.get('k')).toBeUndefined();
  });

  it('prunes expired files before the oldest live ones', async () => {
    const backend = new FilesystemBackend({ dir, clock, threshold: 10 });
    for (let i = 0; i < 9; i += 1) {
      await backend.set(`keep-${i}`, 'v', 0);
      clock.advance(1);
    }
    await backend.set('short-lived', 'v', 1);
    clock.advance(2_000);
    await backend.set('one-more', 'v', 0); // the 11th write runs the prune
    expect(files()).toHaveLength(10);
    expect(await backend.get('keep-0')).toBe('v');
    expect(await backend.get('one-more')).toBe('v');
  });

  it('drops the oldest entries when over the threshold', async () => {
    const backend = new FilesystemBackend({ dir, clock, threshold: 5 });
    for (let i = 0; i < 12; i += 1) {
      await backend.set(`k${i}`, String(i), 0);
      clock.advance(1);
    }
    expect(files().length).toBeLessThanOrEqual(5);
    expect(await backend.get('k0')).toBeUndefined();
    expect(await backend.get('k11')).toBe('11');
  });

  it('prune() removes expired files of its prefix only', async () => {
    const mine = new FilesystemBackend({ dir, prefix: 'mine:', clock });
    const theirs = new FilesystemBackend({ dir, prefix: 'theirs:', clock });
    await mine.set('a', 'v', 1);
    await theirs.set('a', 'v', 1);
    clock.advance(1_001);
    expect(await mine.prune()).toBe(0);
    expect(files()).toHaveLength(1);
  });

  it('fails at construction naming CACHE_DIR when the folder cannot be written', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => new FilesystemBackend({ dir: join(file, 'cache') })).toThrow(/CACHE_DIR/);
  });

  it('recreates its folder when it is deleted under it', async () => {
    const backend = new FilesystemBackend({ dir: join(dir, 'sub'), clock });
    await backend.set('a', '1', 0);
    rmSync(join(dir, 'sub'), { recursive: true });
    expect(await backend.get('a')).toBeUndefined();
    await backend.set('a', '2', 0);
    expect(await backend.get('a')).toBe('2');
  });

  it('keeps entries across instances (a restart)', async () => {
    const cache = new Cache({ backend: new FilesystemBackend({ dir, prefix: 'p:', clock }), clock });
    await cache.set('b', { kept: true });
    const again = new Cache({ backend: new FilesystemBackend({ dir, prefix: 'p:', clock }), clock });
    expect(await again.get('b')).toEqual({ kept: true });
  });

  it('reports entries and bytes', async () => {
    const backend = new FilesystemBackend({ dir, clock });
    await backend.set('a', 'x'.repeat(100), 0);
    const stats = await backend.stats();
    expect(stats.entries).toBe(1);
    expect(stats.bytes).toBeGreaterThan(100);
  });
});
