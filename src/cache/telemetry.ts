import { EventEmitter } from 'node:events';
import type { BackendStats, CacheEvent, CacheOp, CacheOrigin, CacheResult, GetOptions } from './types.ts';

/** Where the cache writes its state changes (a failing backend, a recovery, a null cache). */
export interface CacheLogger {
  warn(message: string): void;
  info(message: string): void;
}

/** Operation counts for one origin or one backend. */
export interface CacheCounters {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  errors: number;
  /** Encoded bytes read or written. */
  bytes: number;
}

/** A snapshot of the cache's counters since it was created. */
export interface CacheStats {
  origins: Record<CacheOrigin, CacheCounters>;
  backends: Record<string, CacheCounters>;
  /** Entries that failed to decode and were deleted (each is also counted as an error). */
  corrupt: number;
  health: CacheHealth;
  /** What the backend reports of its size, when it can. */
  backend: BackendStats;
}

/** The result of a backend call: its value, or the error it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** `degraded` while the backend is failing (the cache then serves misses and no-op writes). */
export type CacheHealth = 'ok' | 'degraded';

function zero(): CacheCounters {
  return { hits: 0, misses: 0, sets: 0, deletes: 0, errors: 0, bytes: 0 };
}

/**
 * Adds one operation to `counters`. A switch, not `counters[field]`: this runs on every cached
 * hit, and a property read by a key that varies is a megamorphic load in V8.
 */
function count(counters: CacheCounters, result: CacheResult, bytes: number | undefined): void {
  switch (result) {
    case 'hit':
      counters.hits += 1;
      break;
    case 'miss':
      counters.misses += 1;
      break;
    case 'set':
      counters.sets += 1;
      break;
    case 'delete':
      counters.deletes += 1;
      break;
    case 'error':
      counters.errors += 1;
      break;
  }
  if (bytes !== undefined) counters.bytes += bytes;
}

/** A monotonic timestamp in milliseconds, for operation durations. */
export const now = (): number => performance.now();

/**
 * Counts and emits every operation and tracks backend health, logging once per state change:
 * healthy → failing warns, failing → healthy says it recovered. It is also where fail-open is
 * decided: a failed call is reported and swallowed, or re-raised with `throwOnErrors`.
 */
export class Telemetry {
  /** Emits `'op'` with a {@link CacheEvent} for every operation. */
  readonly events = new EventEmitter();
  private readonly origins = new Map<CacheOrigin, CacheCounters>([
    ['view', zero()],
    ['fragment', zero()],
    ['memoize', zero()],
    ['direct', zero()],
  ]);
  private readonly backends = new Map<string, CacheCounters>();
  private corrupt = 0;
  private failing = false;

  constructor(
    private readonly backendName: string,
    private readonly logger: CacheLogger,
    private readonly throwOnErrors: boolean,
  ) {
    this.backends.set(backendName, zero());
  }

  /** Runs a backend call, noting the backend's health from how it ends. */
  async attempt<T>(run: () => Promise<T>): Promise<Outcome<T>> {
    try {
      const value = await run();
      this.succeeded();
      return { ok: true, value };
    } catch (error) {
      if (!isDataError(error)) this.failed(error);
      return { ok: false, error };
    }
  }

  /** Reports a failed operation; re-raises with `throwOnErrors`, otherwise resolves to undefined. */
  fail(op: CacheOp, key: string, opts: GetOptions, start: number, error: unknown): undefined {
    this.emit(op, key, 'error', opts, start, undefined, messageOf(error));
    if (this.throwOnErrors) throw error;
    return undefined;
  }

  /** Counts and emits one operation that started at `start` (see {@link now}). */
  emit(op: CacheOp, key: string, result: CacheResult, opts: GetOptions, start: number, bytes?: number, error?: string): void {
    const event: CacheEvent = {
      op,
      key,
      result,
      origin: opts.origin ?? 'direct',
      backend: this.backendName,
      durationMs: now() - start,
    };
    if (bytes !== undefined) event.bytes = bytes;
    if (opts.detail !== undefined) event.detail = opts.detail;
    if (error !== undefined) event.error = error;
    this.record(event);
  }

  /** Counts an operation and emits it. */
  record(event: CacheEvent): void {
    const origin = this.origins.get(event.origin);
    if (origin !== undefined) count(origin, event.result, event.bytes);
    let backend = this.backends.get(event.backend);
    if (backend === undefined) this.backends.set(event.backend, (backend = zero()));
    count(backend, event.result, event.bytes);
    if (this.events.listenerCount('op') > 0) this.events.emit('op', event);
  }

  /** Counts an entry that failed to decode. */
  recordCorrupt(): void {
    this.corrupt += 1;
  }

  /** Notes that the backend answered; logs a recovery after a failure. */
  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info(`cache backend "${this.backendName}" recovered`);
  }

  /** Notes that the backend failed; logs only the first failure of a run of them. */
  failed(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      `cache backend "${this.backendName}" is failing (${messageOf(error)}); serving uncached until it recovers`,
    );
  }

  /** `degraded` while the last backend call failed. */
  health(): CacheHealth {
    return this.failing ? 'degraded' : 'ok';
  }

  /** A copy of the counters. */
  snapshot(backend: BackendStats): CacheStats {
    const copy = (from: ReadonlyMap<string, CacheCounters>) => Object.fromEntries([...from].map(([name, counters]) => [name, { ...counters }]));
    return {
      origins: copy(this.origins) as Record<CacheOrigin, CacheCounters>,
      backends: copy(this.backends),
      corrupt: this.corrupt,
      health: this.health(),
      backend,
    };
  }
}

/**
 * Whether an error is about the data (a counter that is not an integer) rather than the
 * backend's health: it is counted and emitted, but does not mark the backend as failing.
 */
export function isDataError(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  return error instanceof Error && error.name === 'ReplyError' && /not an integer|overflow/i.test(error.message);
}

/** The message of an error-like value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
