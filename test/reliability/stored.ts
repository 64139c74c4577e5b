import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { escapeGlob } from '../../src/cache/distributed/index.ts';
import type { Cache } from '../../src/cache/cache.ts';
import { decodeEntry } from '../../src/cache/codec.ts';
import { readStoredPageRecord } from '../../src/cache/koa/page-cache/stored-page.ts';
import type { TestApp } from '../support/app.ts';

/** Texts that mark an error page (HTML or JSON): such a page must never be stored. */
export const ERROR_MARKERS = ['class="error-page"', '{"error":{'] as const;

/** The cache of a test app. */
export function cacheOf(t: TestApp): Cache {
  return t.app.context.services.caching.cache;
}

/**
 * Records every key the cache writes, from its event stream, for backends that cannot be listed
 * (memory). Start it before the traffic.
 */
export function recordWrites(cache: Cache): Set<string> {
  const keys = new Set<string>();
  cache.events.on('op', (event: { op: string; key: string; result: string }) => {
    if ((event.op === 'set' || event.op === 'add') && event.result === 'set') keys.add(event.key);
  });
  return keys;
}

/**
 * The raw strings stored now by a test app's cache: every file of a filesystem cache, every Redis
 * key under the prefix (SCAN), or for memory each key in `written` that still holds a value.
 */
export async function storedValues(t: TestApp, written: ReadonlySet<string>): Promise<string[]> {
  const config = t.config.cache;
  if (config.type === 'filesystem') {
    const values: string[] = [];
    for (const name of readdirSync(config.dir)) {
      if (name.startsWith('.')) continue;
      const data = readFileSync(join(config.dir, name));
      const newline = data.indexOf(10);
      if (newline > 0) values.push(data.subarray(newline + 1).toString('utf8'));
    }
    return values;
  }
  if (config.type === 'redis') {
    const client = new Redis(config.redis.url ?? `redis://${config.redis.host}:${config.redis.port}/${config.redis.db}`, { maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(config.keyPrefix)}*`, 'COUNT', 500);
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      if (keys.length === 0) return [];
      const values = await client.mget(keys);
      return values.filter((v): v is string => v !== null);
    } finally {
      client.disconnect();
    }
  }
  const backend = cacheOf(t).backend;
  const values: string[] = [];
  for (const key of written) {
    const raw = await backend.get(key);
    if (raw !== undefined) values.push(raw);
  }
  return values;
}

/** What an audit of stored entries found. */
export interface StoreAudit {
  /** Entries examined. */
  entries: number;
  /** Page records among them. */
  pages: number;
  /** Everything wrong, one line each. */
  problems: string[];
}

/**
 * Checks every stored entry: no page record keeps a `Set-Cookie` header, no entry holds a cookie
 * of ours, an error page, or any of the `forbidden` texts (an author's name, a draft, a token).
 */
export function auditStored(values: readonly string[], forbidden: readonly string[] = []): StoreAudit {
  const audit: StoreAudit = { entries: values.length, pages: 0, problems: [] };
  for (const raw of values) {
    let value: unknown;
    try {
      value = decodeEntry(raw).value;
    } catch {
      audit.problems.push(`undecodable entry: ${raw.slice(0, 80)}`);
      continue;
    }
    const record = readStoredPageRecord(value);
    if (record) {
      audit.pages += 1;
      for (const [name] of record.headers) if (name.toLowerCase() === 'set-cookie') audit.problems.push(`page record with Set-Cookie: ${raw.slice(0, 120)}`);
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
    for (const bad of ['kiln.sid=', 'kiln.login=', ...ERROR_MARKERS, ...forbidden]) {
      if (text.includes(bad)) audit.problems.push(`entry contains ${JSON.stringify(bad)}: ${text.slice(0, 120)}`);
    }
  }
  return audit;
}
