import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, startTestApp, type TestApp } from '../support/app.ts';
import { launchChromium, requireChromium } from '../support/services.ts';

/**
 * The toolbar's newer tabs and actions as a person uses them, in Debian's Chromium: the reasons
 * behind each page cache result, the entry actions, EXPLAIN, keyboard tabs, and a 390 px phone.
 * Screenshots go to test-artifacts/toolbar/.
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/toolbar/', import.meta.url));
const hasChromium = await requireChromium();

let app: TestApp;
let browser: Browser;
let base: string;
const problems: string[] = [];

async function newVisitor(width = 1280, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  return page;
}

/** The id of the focused element. */
function focused(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement && document.activeElement.id');
}

/** In the page: the bar's elements that reach past either side of the screen, and the page's scroll width. */
const OFF_SCREEN = `(() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  for (const node of document.querySelectorAll('#kiln-toolbar *')) {
    const box = node.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) bad.push(node.tagName.toLowerCase() + '.' + node.className + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
  return { bad: bad.slice(0, 5), scroll: document.documentElement.scrollWidth, width };
})()`;

/** Opens the bar (if closed) on the tab named, and returns that panel's text. */
async function openTab(page: Page, tab: string): Promise<string> {
  if ((await page.locator('.kiln-tb-handle').getAttribute('aria-expanded')) !== 'true') await page.locator('.kiln-tb-handle').click();
  await page.locator(`#kiln-tb-tab-${tab}`).click();
  const panel = page.locator(`#kiln-tb-panel-${tab}`);
  await panel.waitFor({ state: 'visible' });
  return panel.innerText();
}

/** The page line of the Cache tab: the badge, the reason in words and, on a hit, the page's size. */
async function pageLine(page: Page): Promise<string> {
  await openTab(page, 'cache');
  return page.locator('#kiln-tb-panel-cache .kiln-tb-page').innerText();
}

describe.skipIf(!hasChromium)('the dev toolbar\'s tabs and actions in Chromium', () => {
  beforeAll(async () => {
    app = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1', METRICS_TOKEN: 'e2e-metrics-token-0123456789' } });
    for (let i = 0; i < 3; i += 1) await app.addPost({ category: 'caching' }, 3 - i);
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the test server is not listening');
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('says why: a query string bypass, a 404 not stored, a HIT with the page\'s size, and the author\'s BYPASS', async () => {
    const reader = await newVisitor();
    await reader.goto(`${base}/about?utm_source=mail`);
    expect(await pageLine(reader)).toMatch(/BYPASS\s+the URL has a query string this route's key does not hold/);
    await reader.goto(`${base}/posts/999999`);
    expect(await pageLine(reader)).toMatch(/MISS\s+rendered and not stored: the handler answered with an error \(such as 404 Not Found\)/);
    await reader.goto(`${base}/about`);
    await reader.goto(`${base}/about`);
    const hit = await pageLine(reader);
    expect(hit).toMatch(/HIT\s+(served from a fresh stored page before the app ran|a stored page younger than its timeout) · page \d+(\.\d)? (B|KiB)/);
    await reader.locator('#kiln-toolbar').screenshot({ path: `${ARTIFACTS}why-hit.png` });

    const author = await newVisitor();
    await author.goto(`${base}/login`);
    await author.fill('#username', AUTHOR.username);
    await author.fill('#password', AUTHOR.password);
    await Promise.all([author.waitForURL(`${base}/admin`), author.locator('form.stacked button[type="submit"]').click()]);
    await author.goto(`${base}/about`);
    expect(await pageLine(author)).toMatch(/BYPASS\s+the route's unless rule skipped the cache \(for example: an author is signed in\)/);
    await author.locator('#kiln-toolbar').screenshot({ path: `${ARTIFACTS}why-author-bypass.png` });
    // History lists the login POST of this browser.
    expect(await openTab(author, 'history')).toContain('POST /login');
    expect(problems).toEqual([]);
  }, 30_000);

  it('shows the new tabs, follows the tabs pattern with the keyboard, and explains a query', async () => {
    const page = await newVisitor();
    await page.goto(`${base}/posts/1`);
    expect(await openTab(page, 'headers')).toMatch(/Request headers[\s\S]*host[\s\S]*Response headers[\s\S]*content-type/i);
    const settings = await openTab(page, 'settings');
    expect(settings).toMatch(/metricsToken\s+"••••••"/);
    expect(settings).not.toContain('e2e-metrics-token');
    expect(await openTab(page, 'versions')).toMatch(/Node[\s\S]*Koa\s+3\.3\.0[\s\S]*(SQLite|PostgreSQL server)/);
    expect(await openTab(page, 'routes')).toMatch(/GET\s+\/posts\/:id\s+post/);
    expect(await openTab(page, 'logging')).toMatch(/logged nothing|INFO|WARN|ERROR/);

    // Keyboard: arrows move the selection and the focus, Home and End jump, each tab controls its panel.
    await page.locator('#kiln-tb-tab-cache').click();
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toBe('kiln-tb-tab-request');
    expect(await page.locator('#kiln-tb-tab-request').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#kiln-tb-panel-request').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await focused(page)).toBe('kiln-tb-tab-history');
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toBe('kiln-tb-tab-cache');
    await page.keyboard.press('ArrowLeft');
    expect(await focused(page)).toBe('kiln-tb-tab-history');
    const wiring = await page.$$eval('[role="tab"]', (tabs) =>
      tabs.map((tab) => {
        const panel = tab.ownerDocument.getElementById(tab.getAttribute('aria-controls') ?? '');
        return [panel?.getAttribute('role'), panel?.getAttribute('aria-labelledby') === tab.id, tab.getAttribute('tabindex')];
      }),
    );
    expect(wiring.every(([role, labelled]) => role === 'tabpanel' && labelled)).toBe(true);
    expect(wiring.filter(([, , index]) => index === '0')).toHaveLength(1);

    // EXPLAIN on a SELECT this request ran.
    await openTab(page, 'sql');
    await page.locator('#kiln-tb-panel-sql .kiln-tb-explain').first().click();
    const plan = page.locator('#kiln-tb-panel-sql .kiln-tb-plan').first();
    await expect.poll(() => plan.innerText()).toMatch(/SCAN|SEARCH|Scan|Result|Limit/);
    await page.locator('#kiln-toolbar').screenshot({ path: `${ARTIFACTS}sql-explain.png` });
    expect(problems).toEqual([]);
  }, 30_000);

  it('shows an entry\'s TTL and tags, invalidates its tag and drops its key, each listed in History', async () => {
    const page = await newVisitor();
    await page.goto(`${base}/category/caching`);
    await page.goto(`${base}/category/caching`);
    await openTab(page, 'cache');
    const row = page.locator('#kiln-tb-panel-cache tr', { hasText: 'view(' }).first();
    await row.locator('.kiln-tb-entry').click();
    await row.locator('.kiln-tb-ttl').waitFor();
    expect(await row.locator('.kiln-tb-ttl').innerText()).toMatch(/TTL: \d+ s left/);
    const tag = row.locator('.kiln-tb-tag').first();
    const tagName = await tag.locator('code').innerText();
    await page.locator('#kiln-toolbar').screenshot({ path: `${ARTIFACTS}entry-ttl-tags.png` });
    await tag.locator('button', { hasText: 'invalidate this tag' }).click();
    await row.locator('[role="status"]', { hasText: `Tag “${tagName}” invalidated.` }).waitFor();
    await page.goto(`${base}/category/caching`);
    expect(await page.locator('#kiln-toolbar').getAttribute('data-page-cache')).toBe('MISS');

    await page.goto(`${base}/category/caching`);
    await openTab(page, 'cache');
    const again = page.locator('#kiln-tb-panel-cache tr', { hasText: 'view(' }).first();
    await again.locator('.kiln-tb-entry').click();
    await again.locator('button', { hasText: 'drop this key' }).click();
    await again.locator('[role="status"]', { hasText: 'Key dropped.' }).waitFor();
    await page.goto(`${base}/category/caching`);
    expect(await page.locator('#kiln-toolbar').getAttribute('data-page-cache')).toBe('MISS');
    const history = await openTab(page, 'history');
    expect(history).toMatch(/POST \/_toolbar\/\S+\/drop → 200 toolbar action/);
    expect(history).toMatch(/POST \/_toolbar\/\S+\/invalidate\?tag=\S+ → 200 toolbar action/);
    expect(problems).toEqual([]);
  }, 30_000);

  it('fits a 390 px phone: every tab\'s rows stack and no element reaches past the screen', async () => {
    const phone = await newVisitor(390, 844);
    // A first visit of a post: a MISS with SQL, cache writes and templates; the index in History.
    await phone.goto(`${base}/`);
    await phone.goto(`${base}/posts/2`);
    const tabs = await phone.$$eval('[role="tab"]', (list) => list.map((tab) => tab.getAttribute('data-tab') ?? ''));
    for (const tab of tabs) {
      await openTab(phone, tab);
      const outside = (await phone.evaluate(OFF_SCREEN)) as { bad: string[]; scroll: number; width: number };
      expect({ tab, ...outside }).toEqual({ tab, bad: [], scroll: outside.width, width: 390 });
      await phone.screenshot({ path: `${ARTIFACTS}phone-390-${tab}.png` });
    }
    // The Cache tab's rows are stacked blocks with their labels.
    await openTab(phone, 'cache');
    expect(await phone.locator('#kiln-tb-panel-cache thead').isVisible()).toBe(false);
    const keyCell = phone.locator('#kiln-tb-panel-cache td[data-label="Key"]').first();
    expect(await keyCell.evaluate((td) => td.ownerDocument.defaultView?.getComputedStyle(td, '::before').content)).toBe('"Key: "');
    expect(problems).toEqual([]);
  }, 60_000);
});
