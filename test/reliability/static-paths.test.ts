import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STATIC_DIR } from '../../src/app.ts';
import { StaticAssets } from '../../src/blog/web/static-assets.ts';
import type { Env } from '../../src/config.ts';
import { SITE_URL, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp } from './blog.ts';
import { pathVariants } from './path-variants.ts';
import { eachLimited, rawTarget, type RawResponse } from './raw-http.ts';

const PRODUCTION: Env = { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(48), CACHE_TYPE: 'memory' };
const STATICS = new StaticAssets({ root: STATIC_DIR });
/** The toolbar's files: plain URLs, the hashed URLs the bar links, and a hash of other content. */
const ASSETS = [
  '/static/toolbar/toolbar.js',
  '/static/toolbar/toolbar.css',
  STATICS.url('toolbar/toolbar.js'),
  STATICS.url('toolbar/toolbar.css'),
  '/static/toolbar/toolbar.00000000.js',
];
/** A line of the toolbar's script, which no refused answer may carry. */
const SCRIPT_LINE = readFileSync(join(STATIC_DIR, 'toolbar', 'toolbar.js'), 'utf8').split('\n').find((line) => line.trim().length > 20) ?? '';

function port(t: TestApp): number {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The status and body of a raw response (its headers carry a date). */
function answer(res: RawResponse): string {
  return `${res.status} ${res.text.slice(res.text.indexOf('\r\n\r\n') + 4)}`;
}

/** Spellings of a toolbar asset: the usual variants, and paths through the install folder. */
function assetSpellings(asset: string): string[] {
  const inside = asset.slice('/static/'.length);
  return [
    ...pathVariants(asset, SITE_URL),
    `/static/${STATIC_DIR}/${inside}`,
    `/static/${STATIC_DIR.slice(1)}/${inside}`,
    `/static/css/../${inside}`,
    `/static/css/..%2F${inside}`,
    `/static/Toolbar/${inside.slice('toolbar/'.length)}`,
  ];
}

describe('the toolbar assets under every spelling', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await closeApp(t);
    t = undefined;
  });

  it('are served to an allowed client at their canonical path (the guard is what refuses the others)', async () => {
    t = await startTestApp({ env: { ...PRODUCTION, KILN_TOOLBAR: '1' } });
    for (const asset of [ASSETS[0], ASSETS[2]]) {
      const res = await rawTarget(port(t), asset);
      expect(res.status, asset).toBe(200);
      expect(res.text).toContain(SCRIPT_LINE);
    }
  });

  it.each([
    { name: 'the toolbar off (production)', env: PRODUCTION },
    { name: 'the toolbar on for another address', env: { ...PRODUCTION, KILN_TOOLBAR: '1', KILN_TOOLBAR_IPS: '10.0.0.7' } },
  ])('are a 404 under any spelling with $name', async ({ env }) => {
    t = await startTestApp({ env });
    const app = t;
    const failures: string[] = [];
    const targets = [...ASSETS, ...ASSETS.flatMap(assetSpellings)];
    await eachLimited(targets, 8, async (target) => {
      const res = await rawTarget(port(app), target);
      if (res.status !== 404 || res.text.includes(SCRIPT_LINE)) failures.push(`${JSON.stringify(target)}: ${res.status}`);
    });
    expect(failures).toEqual([]);
  });
});

describe('paths outside static/', () => {
  it('get the same answer whether something exists there or not', async () => {
    const t = await startTestApp({ env: PRODUCTION });
    try {
      const pairs = [
        [`/static/${STATIC_DIR}/css/site.css`, '/static//no/such/install/static/css/site.css'],
        [`/static/${STATIC_DIR}/toolbar/toolbar.js`, '/static//no/such/install/static/toolbar/toolbar.js'],
        ['/static//etc/hostname', '/static//etc/no-such-file'],
        ['/static/../package.json', '/static/../no-such.json'],
        ['/static/css/..%2F..%2Fpackage.json', '/static/css/..%2F..%2Fno-such.json'],
        [`/static/${STATIC_DIR.replaceAll('/', '%2F')}%2Fcss%2Fsite.css`, '/static/%2Fno%2Fsuch%2Fsite.css'],
      ];
      for (const [existing, missing] of pairs) {
        const a = await rawTarget(port(t), existing);
        const b = await rawTarget(port(t), missing);
        expect(a.status, existing).toBe(404);
        expect(answer(a), existing).toBe(answer(b));
      }
    } finally {
      await closeApp(t);
    }
  });
});
