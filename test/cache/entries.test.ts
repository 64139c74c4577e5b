import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Whether importing `entry` in a fresh process loads ioredis. */
function loadsIoredis(entry: string): boolean {
  const script = `
    await import(${JSON.stringify(entry)});
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    process.stdout.write(String(Object.keys(cache).some((file) => file.includes('/node_modules/ioredis/'))));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`importing ${entry} failed: ${run.stderr}`);
  return run.stdout === 'true';
}

describe('the package entries', () => {
  it('load ioredis only through kiln/cache/distributed, so a memory or filesystem cache never does', () => {
    expect(loadsIoredis('./src/cache/index.ts')).toBe(false);
    expect(loadsIoredis('./src/cache/distributed/index.ts')).toBe(true);
  });

  it('are the files package.json exports', async () => {
    const { default: pkg } = await import('../../package.json', { with: { type: 'json' } });
    expect(Object.keys(pkg.exports)).toEqual(['./cache', './cache/koa', './cache/nunjucks', './cache/toolbar', './cache/distributed']);
    const root = await import('../../src/cache/index.ts');
    expect(typeof root.Cache).toBe('function');
    expect(typeof root.normalizeBackend).toBe('function');
    const nunjucks = await import('../../src/cache/nunjucks/index.ts');
    expect(typeof nunjucks.FragmentCacheExtension).toBe('function');
    const toolbar = await import('../../src/cache/toolbar/index.ts');
    expect(typeof toolbar.createToolbar).toBe('function');
    const distributed = await import('../../src/cache/distributed/index.ts');
    expect(typeof distributed.createRedisStack).toBe('function');
  });
});
