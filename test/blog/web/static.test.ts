import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticFiles } from '../../../src/blog/web/static.ts';
import { StaticAssets } from '../../../src/blog/web/static-assets.ts';
import { staticFile } from '../../../src/blog/web/static-path.ts';
import { rawTarget, type RawResponse } from '../../reliability/raw-http.ts';

/** The status and body of a raw response (its headers carry a date). */
function answer(res: RawResponse): string {
  return `${res.status} ${res.text.slice(res.text.indexOf('\r\n\r\n') + 4)}`;
}

describe('staticFiles', () => {
  let dir: string;
  let root: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-static-'));
    root = join(dir, 'static');
    mkdirSync(join(root, 'css'), { recursive: true });
    writeFileSync(join(root, 'css', 'site.css'), 'body{}');
    writeFileSync(join(root, '.hidden.css'), 'secret{}');
    writeFileSync(join(dir, 'outside.css'), 'outside{}');
    const app = new Koa();
    app.use(staticFiles(new StaticAssets({ root })));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a file named by a relative path of plain names', async () => {
    const res = await rawTarget(port, '/static/css/site.css');
    expect(answer(res)).toBe('200 body{}');
  });

  it('answers every other path under the prefix with the same 404, whether or not a file exists there', async () => {
    const existing = [
      `/static/${root}/css/site.css`,
      `/static/${dir}/outside.css`,
      '/static/../outside.css',
      '/static/css/../../outside.css',
      '/static/css/../css/site.css',
      '/static/./css/site.css',
      '/static/css//site.css',
      '/static//css/site.css',
      '/static/css%2Fsite.css',
      '/static/css%2fsite.css',
      '/static/css%5Csite.css',
      '/static/css\\site.css',
      '/static/%2e%2e/outside.css',
      '/static/css/site.css%00',
      '/static/css/site.css%00.css',
      '/static/CSS/site.css',
      '/static/css/Site.css',
      '/static/.hidden.css',
      '/static/css',
      '/static/',
    ];
    const missing = existing.map((target) => target.replace(/site\.css|outside\.css|\.hidden\.css/, 'nothing.css'));
    const answers = new Set<string>();
    for (const target of [...existing, ...missing, '/static/nothing.css']) {
      const res = await rawTarget(port, target);
      expect(res.status, target).toBe(404);
      answers.add(answer(res));
    }
    expect([...answers]).toEqual(['404 Not Found']);
  });
});

describe('staticFile', () => {
  it('joins plain names under the root, and refuses absolute paths, dot segments, separators and other case', () => {
    expect(staticFile('/srv/static', 'css/site.css')).toBe('/srv/static/css/site.css');
    expect(staticFile('/srv/static', 'toolbar/toolbar.min.js')).toBe('/srv/static/toolbar/toolbar.min.js');
    for (const relative of ['', '/etc/passwd', '/srv/static/css/site.css', '../x.css', 'css/../x.css', './x.css', 'css//x.css', 'css/', 'a\\b.css', 'a%2Fb.css', 'x.css\0', 'X.css', '.env']) {
      expect(staticFile('/srv/static', relative), relative).toBeUndefined();
    }
  });
});
