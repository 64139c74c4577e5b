import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Env } from '../src/config.ts';
import { REPO_ROOT } from './support/server-process.ts';

// The README's configuration table and .env.example list every variable the configuration
// reads, and nothing it does not: a new variable without its documentation fails here.

/** The variables `loadConfig(env)` looks at. */
function readBy(env: Env): Set<string> {
  const seen = new Set<string>();
  const watched = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') seen.add(name);
      return target[name as string];
    },
  });
  loadConfig(watched);
  return seen;
}

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Variable names the sources read by name: `read.kind('NAME'…)`, `new ConfigError('NAME'…)` aside, and `process.env.NAME`. */
function namedInSources(): Set<string> {
  const names = new Set<string>();
  for (const file of [...sources(join(REPO_ROOT, 'src')), join(REPO_ROOT, 'ormconfig.ts')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bread\.\w+\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(m[1]);
    for (const m of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1]);
  }
  return names;
}

/** Everything the configuration reads, over the environments that make it read more (the Redis cache, production). */
function variablesRead(): string[] {
  const all = new Set(namedInSources());
  const envs: Env[] = [
    { NODE_ENV: 'test' },
    { NODE_ENV: 'test', CACHE_TYPE: 'redis' },
    { NODE_ENV: 'production', SESSION_SECRET: 'production-secret-0123', CACHE_TYPE: 'redis' },
  ];
  for (const env of envs) for (const name of readBy(env)) all.add(name);
  return [...all].sort();
}

/** The variable names in the first column of the README's table under `## Configuration`. */
function readmeTable(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const rows = section.slice(0, section.indexOf('\n## ', 1)).split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])).sort();
}

/** The variables `.env.example` sets or shows commented out (`NAME=` or `# NAME=`). */
function envExample(): string[] {
  const text = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
  return [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
}

describe('the configuration documentation', () => {
  it('finds the variables the configuration reads (so the checks below check something)', () => {
    const read = variablesRead();
    for (const name of ['NODE_ENV', 'LOG_LEVEL', 'METRICS_TOKEN', 'TRUST_PROXY', 'HTTP_CACHE_PURGE_URLS', 'KILN_WORKERS', 'KILN_TOOLBAR', 'CACHE_NEAR_TTL']) {
      expect(read).toContain(name);
    }
  });

  it('lists every variable the configuration reads in the README table, once, and no other', () => {
    const table = readmeTable();
    expect(table).toEqual([...new Set(table)]);
    expect(table).toEqual(variablesRead());
  });

  it('shows every variable the configuration reads in .env.example, once, and no other', () => {
    const example = envExample();
    expect(example).toEqual([...new Set(example)]);
    expect(example).toEqual(variablesRead());
  });
});
