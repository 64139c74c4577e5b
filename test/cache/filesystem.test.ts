import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemBackend } from '../../src/cache/backends/filesystem.ts';
import { normalizeBackend } from '../../src/cache/backends/normalize.ts';
import { Cache } from '../../src/cache/cache.ts';
import { backendContract } from './backend-contract.ts';
import { FakeClock } from '../support/fake-clock.ts';

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

describe('FilesystemBackend contentVersion(): what a settled folder vouches for', () => {
  let dir: string;
  beforeEach(() => {
    dir = freshDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const settleMs = 40;
  const settle = () => new Promise((resolve) => setTimeout(resolve, settleMs + 15));
  /** Two instances on one folder stand for two worker processes: neither hears of the other's writes. */
  const pair = () => ({
    reader: new Cache({ backend: new FilesystemBackend({ dir, prefix: 'p:', settleMs }) }),
    writer: new Cache({ backend: new FilesystemBackend({ dir, prefix: 'p:', settleMs }) }),
  });

  it('has no stamp while the folder changed within settleMs, and a new one after every change', async () => {
    const backend = new FilesystemBackend({ dir, prefix: 'p:', settleMs });
    await backend.set('k', 'v', 0);
    expect(backend.contentVersion()).toBeUndefined();
    await settle();
    const first = backend.contentVersion();
    expect(first).toEqual(expect.any(String));
    expect(backend.contentVersion()).toBe(first);
    await backend.set('k', 'w', 0);
    expect(backend.contentVersion()).toBeUndefined();
    await settle();
    expect(backend.contentVersion()).not.toBe(first);
  });

  it("makes a peek see another process's every write and delete at once, even right after it trusted one", async () => {
    const { reader, writer } = pair();
    await writer.set('tag', 'v0');
    for (let i = 1; i <= 20; i += 1) {
      await settle();
      expect(reader.peek('tag')).toEqual({ value: `v${i - 1}` }); // read, and trusted from now on
      expect(reader.peek('tag')).toEqual({ value: `v${i - 1}` }); // answered without reading
      // The write lands within the same kernel tick as the trusted read.
      await writer.set('tag', `v${i}`);
      expect(reader.peek('tag')).toEqual({ value: `v${i}` });
    }
    await settle();
    reader.peek('tag');
    await writer.delete('tag');
    expect(reader.peek('tag')).toEqual({ value: undefined });
  });

  it('makes a peek see a change made while it was not looking, once the folder has settled again', async () => {
    const { reader, writer } = pair();
    await writer.set('tag', 'old');
    await settle();
    expect(reader.peek('tag')).toEqual({ value: 'old' });
    await writer.set('tag', 'new');
    await settle();
    expect(reader.peek('tag')).toEqual({ value: 'new' });
  });

  it('answers a trusted peek without reading the file while the folder is settled', async () => {
    const { reader, writer } = pair();
    await writer.set('k', 'kept');
    await settle();
    expect(reader.peek('k')).toEqual({ value: 'kept' });
    // A file changed in place (no rename) leaves the folder as it was: proof nothing was read.
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name), 'garbage');
    expect(reader.peek('k')).toEqual({ value: 'kept' });
  });

  it('leaves a torn file to getMany, which removes it', async () => {
    const backend = new FilesystemBackend({ dir, prefix: 'p:', settleMs: 60_000 });
    await backend.set('k', 'fresh', 0);
    expect(backend.peekMany(['k'])?.map((e) => e?.value)).toEqual(['fresh']);
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name), 'garbage');
    expect(backend.peekMany(['k'])).toBeUndefined();
    expect(await normalizeBackend(backend).getMany(['k'])).toEqual([undefined]);
    expect(readdirSync(dir)).toHaveLength(0);
  });

  it('stops trusting a peek when what it read expires', async () => {
    const clock = new FakeClock();
    const cache = new Cache({ backend: new FilesystemBackend({ dir, prefix: 'p:', settleMs, clock }), clock });
    await cache.set('k', 'short', { timeout: 5 });
    await settle();
    expect(cache.peek('k')).toEqual({ value: 'short' });
    clock.advance(5001);
    expect(cache.peek('k')).toBeUndefined(); // expired: left to get, which removes it
    expect(await cache.get('k')).toBeUndefined();
  });
});
