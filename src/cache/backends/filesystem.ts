import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type BackendStats, type CacheBackend, type Clock, type PeekedEntry, type Seconds } from '../types.ts';
import { CACHE_DEFAULTS } from '../defaults.ts';
import { expiryOf, isExpired } from '../expiry.ts';
import type { SyncReads } from './capabilities.ts';
import { checkDelta, parseCounter } from './counter.ts';

/** Options of {@link FilesystemBackend}. */
export interface FilesystemBackendOptions {
  /** The folder holding the entries (`CACHE_DIR`); created (mode 0700) if missing. */
  dir: string;
  /** Keys are hashed with it, so several prefixes can share one folder (default none). */
  prefix?: string;
  /** Time source for expiry. */
  clock?: Clock;
  /** Most entries of this prefix kept (default 500, like `CACHE_THRESHOLD`). */
  threshold?: number;
  /**
   * Milliseconds the folder must have been quiet before its state vouches for what was read
   * (default 2000; see `contentVersion`). Tests shorten it.
   */
  settleMs?: number;
}

const MAGIC = 'kiln1';
const HEADER = /^kiln1 (\d+) (\d+) (\d+) ([0-9a-f]{64})$/;
const MAX_HEADER = 128;
/** A temporary file older than this was abandoned by a crashed writer. */
const STALE_TMP_MS = 60_000;

interface Header {
  writtenAt: number;
  expiresAt: number;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/**
 * One file per entry, surviving restarts. Each file is `kiln1 <writtenAt> <expiresAt> <bytes>
 * <sha256>\n<value>`: a torn or altered file fails the length or checksum test and is a miss
 * (and deleted), never garbage. Files are written to a temporary name in the same folder and
 * renamed into place, so readers see the old or the new entry, never half of one. Names are
 * `<hash(prefix)>-<hash(key)>`, mode 0600. Beyond `threshold` entries, expired files are pruned
 * first, then the oldest. `add` and `incr` are atomic within one process only.
 */
export class FilesystemBackend implements CacheBackend, SyncReads {
  readonly name = 'filesystem';
  readonly dir: string;
  private readonly clock: Clock;
  private readonly threshold: number;
  private readonly settleMs: number;
  private readonly stem: string;
  private readonly locks = new Map<string, Promise<void>>();
  private pruning: Promise<number> | undefined;
  /** Files of this prefix, counted high (an overwrite counts as a new file) until the next prune. */
  private count: number;

  /** Creates the folder if needed and proves it writable; throws naming CACHE_DIR otherwise. */
  constructor(options: FilesystemBackendOptions) {
    this.dir = options.dir;
    this.clock = options.clock ?? systemClock;
    this.threshold = options.threshold ?? CACHE_DEFAULTS.filesystem.threshold;
    this.settleMs = options.settleMs ?? CACHE_DEFAULTS.filesystem.settleMs;
    if (!Number.isSafeInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`filesystem cache threshold must be a positive integer, got ${this.threshold}`);
    }
    this.stem = sha256(options.prefix ?? '').slice(0, 16);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const probe = join(this.dir, `.probe-${randomUUID()}`);
      writeFileSync(probe, '', { mode: 0o600 });
      unlinkSync(probe);
      this.count = readdirSync(this.dir).filter((name) => this.owns(name)).length;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`CACHE_DIR ${JSON.stringify(this.dir)} is not a writable directory: ${reason}`);
    }
  }

  private owns(name: string): boolean {
    return name.startsWith(`${this.stem}-`);
  }

  private fileOf(key: string): string {
    return join(this.dir, `${this.stem}-${sha256(key)}`);
  }

  /** The stored string, or undefined when absent, expired, torn or corrupt (the file is then removed). */
  async get(key: string): Promise<string | undefined> {
    return (await this.read(key))?.value;
  }

  /**
   * Reads the files synchronously: meant for the few small entries of a hot path (a page's
   * record and its tag versions; the body is served from memory), where one blocking read of a
   * file the OS has cached costs less than the thread-pool round trips of an asynchronous one.
   * A file that is torn, altered or expired makes it answer `undefined`, so `getMany` removes it.
   */
  peekMany(keys: readonly string[]): (PeekedEntry | undefined)[] | undefined {
    const out: (PeekedEntry | undefined)[] = [];
    for (const key of keys) {
      let data: Buffer;
      try {
        data = readFileSync(this.fileOf(key));
      } catch (error) {
        if (isMissing(error)) {
          out.push(undefined);
          continue;
        }
        throw error;
      }
      const entry = this.live(data);
      if (entry === undefined) return undefined;
      out.push({ value: entry.value, expiresAt: entry.header.expiresAt });
    }
    return out;
  }

  /**
   * The folder's state, once it has been unchanged for `settleMs`; undefined before. Every
   * write, delete or prune here (by any process) creates, renames or removes a file in the
   * folder, which sets the folder's modification and change times, so an unchanged state means
   * unchanged entries. Those times are coarse (one kernel tick): a change right after another
   * could carry the same time, hence the wait, far above a tick, before the state vouches for
   * anything (and it is taken before the files it vouches for are read). Needs a local
   * filesystem: a network one may report a folder's times late.
   */
  contentVersion(): string | undefined {
    const info = statSync(this.dir, { throwIfNoEntry: false });
    // Wall time, not the injected clock: the folder's times are set by the kernel's wall clock.
    if (info === undefined || Date.now() - Math.max(info.mtimeMs, info.ctimeMs) < this.settleMs) return undefined;
    return `${info.ino}:${info.mtimeMs}:${info.ctimeMs}:${info.size}`;
  }

  private async read(key: string): Promise<{ value: string; header: Header } | undefined> {
    const file = this.fileOf(key);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    const entry = this.live(data);
    if (entry === undefined) await unlink(file).catch(() => undefined);
    return entry;
  }

  /** The entry in a file's bytes, or undefined when it is torn, altered, of another format or expired. */
  private live(data: Buffer): { value: string; header: Header } | undefined {
    const entry = decodeFile(data);
    return entry === undefined || isExpired(this.clock, entry.header.expiresAt) ? undefined : entry;
  }

  /** Stores a string atomically. */
  async set(key: string, value: string, ttl: Seconds): Promise<void> {
    await this.write(key, value, expiryOf(this.clock, ttl));
  }

  private async write(key: string, value: string, expiresAt: number): Promise<void> {
    const body = Buffer.from(value, 'utf8');
    const header = `${MAGIC} ${this.clock.now()} ${expiresAt} ${body.length} ${sha256(body)}\n`;
    const data = Buffer.concat([Buffer.from(header, 'latin1'), body]);
    const tmp = join(this.dir, `.tmp-${this.stem}-${randomUUID()}`);
    try {
      await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if (!isMissing(error)) throw error;
      // The folder was deleted under us (a manual cleanup): recreate it once and carry on.
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    }
    try {
      await rename(tmp, this.fileOf(key));
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
    this.count += 1;
    if (this.count > this.threshold) await this.prune();
  }

  /** Stores only if absent or expired. */
  add(key: string, value: string, ttl: Seconds): Promise<boolean> {
    return this.locked(key, async () => {
      if (await this.read(key)) return false;
      await this.set(key, value, ttl);
      return true;
    });
  }

  /** Removes a key; whether a live entry existed. */
  delete(key: string): Promise<boolean> {
    return this.locked(key, async () => {
      const live = (await this.read(key)) !== undefined;
      try {
        await unlink(this.fileOf(key));
        this.count = Math.max(0, this.count - 1);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      return live;
    });
  }

  /** Whether a live entry exists. */
  async has(key: string): Promise<boolean> {
    return (await this.read(key)) !== undefined;
  }

  /** Adds to a counter, keeping its expiry; atomic within this process. */
  incr(key: string, delta: number): Promise<number> {
    checkDelta(delta);
    return this.locked(key, async () => {
      const entry = await this.read(key);
      const next = parseCounter(entry?.value, key) + delta;
      await this.write(key, String(next), entry?.header.expiresAt ?? 0);
      return next;
    });
  }

  /** Removes this prefix's files (and its abandoned temporary files). */
  async clear(): Promise<void> {
    const names = await this.listing();
    await Promise.all(
      names
        .filter((name) => this.owns(name) || name.startsWith(`.tmp-${this.stem}-`))
        .map((name) => unlink(join(this.dir, name)).catch(() => undefined)),
    );
    this.count = 0;
  }

  /**
   * Removes expired files of this prefix, then the oldest until 90% of the threshold remain,
   * and abandoned temporary files; resolves how many entries remain.
   */
  prune(): Promise<number> {
    this.pruning ??= this.pruneNow().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  private async pruneNow(): Promise<number> {
    const names = await this.listing();
    const live: { name: string; writtenAt: number }[] = [];
    await Promise.all(
      names.map(async (name) => {
        const path = join(this.dir, name);
        if (name.startsWith(`.tmp-${this.stem}-`)) {
          // Wall time: file times are.
          const info = await stat(path).catch(() => undefined);
          if (info && Date.now() - info.mtimeMs > STALE_TMP_MS) await unlink(path).catch(() => undefined);
          return;
        }
        if (!this.owns(name)) return;
        const header = await readHeader(path);
        if (header === undefined || isExpired(this.clock, header.expiresAt)) {
          await unlink(path).catch(() => undefined);
        } else {
          live.push({ name, writtenAt: header.writtenAt });
        }
      }),
    );
    let remaining = live.length;
    if (remaining > this.threshold) {
      live.sort((a, b) => a.writtenAt - b.writtenAt);
      const keep = Math.floor(this.threshold * 0.9);
      const doomed = live.slice(0, remaining - keep);
      await Promise.all(doomed.map(({ name }) => unlink(join(this.dir, name)).catch(() => undefined)));
      remaining -= doomed.length;
    }
    this.count = remaining;
    return remaining;
  }

  /** Files and bytes of this prefix (expired files included until pruned). */
  async stats(): Promise<BackendStats> {
    const names = (await this.listing()).filter((name) => this.owns(name));
    const sizes = await Promise.all(names.map((name) => stat(join(this.dir, name)).then((s) => s.size, () => 0)));
    return { entries: names.length, bytes: sizes.reduce((sum, size) => sum + size, 0) };
  }

  private async listing(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  private async locked<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const result = previous.then(run);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

function parseHeader(line: string): (Header & { length: number; digest: string }) | undefined {
  const match = HEADER.exec(line);
  if (!match) return undefined;
  return { writtenAt: Number(match[1]), expiresAt: Number(match[2]), length: Number(match[3]), digest: match[4] };
}

/** The entry in a file's bytes, or undefined when torn, altered or of another format. */
function decodeFile(data: Buffer): { value: string; header: Header } | undefined {
  const newline = data.indexOf(10);
  if (newline < 0 || newline > MAX_HEADER) return undefined;
  const header = parseHeader(data.toString('latin1', 0, newline));
  const body = data.subarray(newline + 1);
  if (!header || body.length !== header.length || sha256(body) !== header.digest) return undefined;
  return { value: body.toString('utf8'), header };
}

async function readHeader(path: string): Promise<Header | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(MAX_HEADER + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const newline = buffer.subarray(0, bytesRead).indexOf(10);
    return newline < 0 ? undefined : parseHeader(buffer.toString('latin1', 0, newline));
  } finally {
    await handle.close();
  }
}
