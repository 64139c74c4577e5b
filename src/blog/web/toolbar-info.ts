import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { QueryExplainer, Versions } from '../../cache/toolbar/index.ts';
import type { Config } from '../../config.ts';
import { PROJECT_ROOT } from '../../root.ts';

/**
 * What the blog tells its dev toolbar about itself (the library reads no environment): the
 * versions of Kiln, its libraries and servers, the secrets to keep out of every toolbar answer,
 * and EXPLAIN for the database in use.
 */

/** The libraries the Versions tab names, by package. */
const LIBRARIES: ReadonlyArray<readonly [label: string, pkg: string]> = [
  ['Koa', 'koa'],
  ['@koa/router', '@koa/router'],
  ['Nunjucks', 'nunjucks'],
  ['TypeORM', 'typeorm'],
  ['ioredis', 'ioredis'],
  ['better-sqlite3', 'better-sqlite3'],
  ['pg', 'pg'],
];

function packageVersion(dir: string): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const version = manifest !== null && typeof manifest === 'object' && 'version' in manifest ? manifest.version : undefined;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'not installed';
  }
}

/** The database server's version: SQLite's library or PostgreSQL's server. */
async function databaseVersion(dataSource: DataSource): Promise<[string, string]> {
  if (dataSource.options.type === 'postgres') {
    const rows: Array<{ server_version: string }> = await dataSource.query('SHOW server_version');
    return ['PostgreSQL server', rows[0]?.server_version ?? 'unknown'];
  }
  const rows: Array<{ v: string }> = await dataSource.query('SELECT sqlite_version() AS v');
  return ['SQLite', rows[0]?.v ?? 'unknown'];
}

/** The Redis server's version, asked over a short connection of its own, when the blog uses Redis. */
async function redisVersion(config: Config): Promise<string | undefined> {
  const usesCache = config.cache.type === 'redis';
  if (!usesCache && config.session.store !== 'redis') return undefined;
  const redis = config.cache.redis;
  if (usesCache && (redis.sentinels !== undefined || redis.cluster !== undefined)) return 'not asked (Sentinel or Cluster)';
  const options = { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false };
  const client = usesCache
    ? redis.url !== undefined
      ? new Redis(redis.url, options)
      : new Redis({ ...options, host: redis.host, port: redis.port, password: redis.password, db: redis.db })
    : new Redis(config.session.redisUrl, options);
  client.on('error', () => {});
  try {
    await client.connect();
    return /^redis_version:(.+)$/m.exec(await client.info('server'))?.[1].trim() ?? 'unknown';
  } catch (error) {
    return `unreachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    client.disconnect();
  }
}

/** The Versions tab: Kiln, its libraries, the database and (when used) the Redis server. */
export function blogVersions(config: Config, dataSource: DataSource): () => Promise<Versions> {
  return async () => {
    const versions: Versions = { Kiln: packageVersion(PROJECT_ROOT) };
    for (const [label, pkg] of LIBRARIES) versions[label] = packageVersion(join(PROJECT_ROOT, 'node_modules', pkg));
    try {
      const [name, version] = await databaseVersion(dataSource);
      versions[name] = version;
    } catch (error) {
      versions.Database = `could not be asked (${error instanceof Error ? error.message : String(error)})`;
    }
    const redis = await redisVersion(config);
    if (redis !== undefined) versions['Redis server'] = redis;
    return versions;
  };
}

/** Every secret value of the configuration, which no toolbar answer may contain. */
export function blogSecrets(config: Config): string[] {
  const values = [config.sessionSecret, config.authorPassword, config.metricsToken, config.cache.redis.password];
  for (const url of [config.databaseUrl, config.session.redisUrl, config.cache.redis.url]) {
    if (url === undefined) continue;
    try {
      const parsed = new URL(url);
      values.push(decodeURIComponent(parsed.password), parsed.password);
    } catch {
      // Not a URL (e.g. `sqlite:path`): it holds no credentials.
    }
  }
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

/**
 * EXPLAIN for the blog's database, read-only and never running the statement: SQLite's
 * `EXPLAIN QUERY PLAN` with each placeholder bound to NULL (its plans do not depend on the
 * values), PostgreSQL's generic plan of the statement prepared in a read-only transaction (so
 * no value, and none of the request's, shapes or appears in the plan).
 */
export function blogExplainer(dataSource: DataSource): QueryExplainer {
  if (dataSource.options.type === 'postgres') return (sql, count) => explainPostgres(dataSource, sql, count);
  return async (sql, count) => {
    const rows: Array<{ id: number; parent: number; detail: string }> = await dataSource.query(`EXPLAIN QUERY PLAN ${sql}`, new Array(count).fill(null));
    const depth = new Map<number, number>([[0, 0]]);
    return rows.map((row) => {
      const level = (depth.get(row.parent) ?? 0) + 1;
      depth.set(row.id, level);
      return `${'  '.repeat(level - 1)}${row.detail}`;
    });
  };
}

async function explainPostgres(dataSource: DataSource, sql: string, count: number): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('BEGIN READ ONLY');
    await runner.query('SET LOCAL plan_cache_mode = force_generic_plan');
    await runner.query(`PREPARE kiln_toolbar_explain AS ${sql}`);
    const args = count === 0 ? '' : `(${new Array(count).fill('NULL').join(', ')})`;
    const rows: Array<{ 'QUERY PLAN': string }> = await runner.query(`EXPLAIN EXECUTE kiln_toolbar_explain${args}`);
    return rows.map((row) => row['QUERY PLAN']);
  } finally {
    await runner.query('ROLLBACK').catch(() => undefined);
    await runner.query('DEALLOCATE kiln_toolbar_explain').catch(() => undefined);
    await runner.release();
  }
}
