import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUTS, STAMP, newestInput, staleReason } from '../../scripts/build.mjs';
import { REPO_ROOT, startServerProcess, type ServerProcess } from '../support/server-process.ts';

const run = promisify(execFile);

describe('staleReason()', () => {
  let root: string;
  let out: string;
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
  const touch = (path: string, seconds: number) => utimesSync(path, at(seconds), at(seconds));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'kiln-stale-'));
    out = join(root, 'dist');
    mkdirSync(join(root, 'src', 'blog'), { recursive: true });
    mkdirSync(out);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // A repository in miniature: every input at second 10, a build stamped at second 20.
  const reset = () => {
    for (const file of ['src/server.ts', 'src/blog/posts.ts', 'src/blog/README.md', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', `dist/${STAMP}`]) {
      writeFileSync(join(root, file), '');
    }
    for (const path of ['src', 'src/blog', 'src/server.ts', 'src/blog/posts.ts', 'src/blog/README.md', ...INPUTS]) touch(join(root, path), 10);
    touch(join(out, STAMP), 20);
  };

  it('is undefined while the build is newer than every input', () => {
    reset();
    expect(staleReason(out, root)).toBeUndefined();
    expect(newestInput(root).mtimeMs).toBe(at(10).getTime());
  });

  it('names a source changed after the build, however deep', () => {
    reset();
    touch(join(root, 'src/blog/posts.ts'), 30);
    expect(staleReason(out, root)).toBe(`${join('src', 'blog', 'posts.ts')} changed since the last build`);
  });

  it('counts a deleted source (its folder changed) and the compiler settings', () => {
    reset();
    rmSync(join(root, 'src/blog/posts.ts'));
    touch(join(root, 'src/blog'), 30);
    expect(staleReason(out, root)).toBe(`${join('src', 'blog')} changed since the last build`);
    reset();
    touch(join(root, 'tsconfig.build.json'), 30);
    expect(staleReason(out, root)).toBe('tsconfig.build.json changed since the last build');
  });

  it('ignores files that are not compiled', () => {
    reset();
    touch(join(root, 'src/blog/README.md'), 30);
    expect(staleReason(out, root)).toBeUndefined();
  });

  it('says so when there is no finished build', () => {
    reset();
    rmSync(join(out, STAMP));
    expect(staleReason(out, root)).toBe('dist/ holds no finished build');
  });
});

// One build into a folder of its own (inside the repository, so the compiled files find
// node_modules and package.json's "type": "module"), shared by the tests below in order.
describe('the compiled server', () => {
  const outDir = join(REPO_ROOT, 'test-artifacts', `build-${randomBytes(4).toString('hex')}`);
  const stamp = join(outDir, STAMP);
  const dataDir = mkdtempSync(join(tmpdir(), 'kiln-build-'));
  let server: ServerProcess | undefined;
  let buildSeconds = 0;

  const env = {
    NODE_ENV: 'production',
    SESSION_SECRET: 'a session secret for the build test',
    AUTHOR_USERNAME: 'author',
    AUTHOR_PASSWORD: 'a password for the build test',
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${join(dataDir, 'kiln.sqlite')}`,
  };
  const start = async (args: string[]) => {
    server = await startServerProcess({ env, args, readyTimeoutMs: 180_000 });
    return server;
  };
  const statusOf = async (path: string) => (await fetch(`${server?.url}${path}`)).status;

  beforeAll(async () => {
    const started = performance.now();
    await run('npm', ['run', 'build', '--', '--out-dir', relative(REPO_ROOT, outDir)], { cwd: REPO_ROOT });
    buildSeconds = (performance.now() - started) / 1000;
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(outDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves pages, static files and the feed on plain node, without tsx', { timeout: 180_000 }, async () => {
    console.info(`npm run build: ${buildSeconds.toFixed(1)} s`);
    // No --import: only what tsc emitted runs (the environment has no NODE_OPTIONS either).
    const running = await start([join(outDir, 'src', 'server.js')]);
    expect([await statusOf('/'), await statusOf('/static/css/site.css'), await statusOf('/feed.xml')]).toEqual([200, 200, 200]);
    expect(running.output).toContain('(production)');
    await running.stop();
  });

  it('is what npm start runs, without rebuilding while the build is current', { timeout: 180_000 }, async () => {
    const built = statSync(stamp).mtimeMs;
    const running = await start(['scripts/run.mjs', '--out-dir', outDir, 'src/server.ts']);
    expect(await statusOf('/')).toBe(200);
    expect(running.output).not.toContain('Building');
    expect(statSync(stamp).mtimeMs).toBe(built);
    await running.stop();
  });

  it('is rebuilt first by npm start when the sources are newer', { timeout: 180_000 }, async () => {
    // Dating the build before the newest source is what editing a source does, without editing one.
    const newest = newestInput();
    const before = new Date(newest.mtimeMs - 60_000);
    utimesSync(stamp, before, before);
    const running = await start(['scripts/run.mjs', '--out-dir', outDir, 'src/server.ts']);
    expect(running.output).toContain(`(${relative(REPO_ROOT, newest.path)} changed since the last build)`);
    expect(statSync(stamp).mtimeMs).toBeGreaterThanOrEqual(newest.mtimeMs);
    expect(await statusOf('/feed.xml')).toBe(200);
    console.info(running.output.split('\n').find((line) => line.startsWith('Built in')));
    await running.stop();
  });
});
