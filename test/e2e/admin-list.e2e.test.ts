import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewPost } from '../../src/blog/services/posts.ts';
import { AUTHOR, startTestApp, type TestApp } from '../support/app.ts';
import { launchChromium, requireChromium } from '../support/services.ts';

/**
 * The author's post list and a post's code as a person sees them, in Debian's Chromium through
 * playwright-core, on a phone (390 px) and a laptop (1280 px). Screenshots go to
 * test-artifacts/studio/.
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/studio/', import.meta.url));
const hasChromium = await requireChromium();

const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 900 };
const LONG_CODE = "const page = await cache.getOrSet(`page:${request.path}`, () => renderTheWholePage(request, { withSidebar: true, locale: 'en-GB' }), { timeout: 1200 });";

let app: TestApp;
let browser: Browser;
let base: string;
let codePostId: number;
const problems: string[] = [];

/** A signed-in author's page at `viewport`, reporting script errors and failed loads. */
async function authorPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400 && new URL(response.url()).pathname !== '/favicon.ico') problems.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`${base}/login`);
  await page.fill('#username', AUTHOR.username);
  await page.fill('#password', AUTHOR.password);
  await Promise.all([page.waitForURL(`${base}/admin`), page.locator('form.stacked button[type="submit"]').click()]);
  return page;
}

/** How far the page can scroll sideways, in CSS pixels (0: it fits the window). */
function sidewaysScroll(page: Page): Promise<number> {
  // A string, evaluated in the page: the tests are type-checked without the DOM's types.
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/** Whether the element is fully inside the window horizontally and visible. */
async function withinWindow(page: Page, selector: string): Promise<boolean> {
  const locator = page.locator(selector).first();
  const box = await locator.boundingBox();
  const width = page.viewportSize()?.width ?? 0;
  return (await locator.isVisible()) && box !== null && box.x >= 0 && box.x + box.width <= width;
}

describe.skipIf(!hasChromium)('the author’s post list in Chromium', () => {
  beforeAll(async () => {
    app = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    const categories = ['performance-engineering', 'databases', 'koa', 'writing'];
    const creates: NewPost[] = Array.from({ length: 120 }, (_, i) => ({
      input: {
        title: i % 7 === 0 ? `A rather long title about caching strategies for busy blogs, part ${i + 1}` : `Post number ${i + 1}`,
        body: `Body ${i + 1}`,
        category: categories[i % categories.length],
        published: i % 4 !== 0,
      },
      createdAt: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000),
      slug: `post-${i + 1}`,
    }));
    await app.posts.saveBatch({ creates });
    codePostId = (await app.addPost({ title: 'Code that scrolls', body: `Some prose first.\n\n\`\`\`ts\n${LONG_CODE}\n\`\`\`` })).id;
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the test server is not listening');
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('fits a 390 px phone: no sideways scrolling, each post a card with Edit and Delete in view', async () => {
    const page = await authorPage(PHONE);
    expect(await page.locator('.admin-posts tbody tr').count()).toBe(50);
    expect(await sidewaysScroll(page)).toBe(0);
    expect(await withinWindow(page, '.admin-posts td.actions a')).toBe(true);
    expect(await withinWindow(page, '.admin-posts td.actions button')).toBe(true);
    const edit = page.getByRole('link', { name: /^Edit/ }).first();
    expect(await edit.isVisible()).toBe(true);
    // A card: the title takes the row's whole width, the actions sit below it.
    const title = await page.locator('.admin-posts td.title').first().boundingBox();
    const actions = await page.locator('.admin-posts td.actions').first().boundingBox();
    expect(title && actions && actions.y > title.y).toBe(true);
    expect(await withinWindow(page, '#filter-q')).toBe(true);
    expect(await withinWindow(page, '.admin-filters button[type="submit"]')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}admin-list-390.png` });
    await page.screenshot({ path: `${ARTIFACTS}admin-list-390-full.png`, fullPage: true });

    // Searching and filtering from the phone.
    await page.fill('#filter-q', 'LONG TITLE');
    await page.selectOption('#filter-status', 'draft');
    await Promise.all([page.waitForURL(/\/admin\?q=LONG\+TITLE&status=draft/), page.locator('.admin-filters button[type="submit"]').click()]);
    const found = await page.locator('.admin-posts td.title').allInnerTexts();
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((text) => text.includes('rather long title'))).toBe(true);
    expect(await sidewaysScroll(page)).toBe(0);

    await page.goto(`${base}/admin/account`);
    expect(await sidewaysScroll(page)).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}account-390.png`, fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);

  it('uses the width of a 1280 px window for a table with every column', async () => {
    const page = await authorPage(LAPTOP);
    expect(await sidewaysScroll(page)).toBe(0);
    const table = await page.locator('.admin-posts').boundingBox();
    // Wider than the 44rem (704 px) column of reading pages.
    expect(table?.width ?? 0).toBeGreaterThan(900);
    expect(await page.locator('.admin-posts thead th').allInnerTexts()).toEqual(['Title', 'Category', 'Status', 'Written', 'Updated', 'Actions']);
    expect(await withinWindow(page, '.admin-posts td.actions button')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}admin-list-1280.png` });
    await page.screenshot({ path: `${ARTIFACTS}admin-list-1280-full.png`, fullPage: true });
    // A table row, not a card: Edit and Delete on the same line as the post's title.
    const title = await page.locator('.admin-posts td.title').nth(1).boundingBox();
    const edit = await page.locator('.admin-posts td.actions a').nth(1).boundingBox();
    const middle = (box: { y: number; height: number }) => box.y + box.height / 2;
    expect(title && edit && Math.abs(middle(edit) - middle(title)) < 10 && edit.x > title.x + title.width).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);

  it('scrolls a long line of code sideways inside its block on a phone, never wrapping it or the page', async () => {
    const page = await authorPage(PHONE);
    await page.goto(`${base}/posts/${codePostId}`);
    expect(await sidewaysScroll(page)).toBe(0);
    const layout = await page.evaluate<{ whiteSpace: string; overflowX: string; scroll: number; height: number }>(`(() => {
      const pre = document.querySelector('.post-body pre');
      const style = getComputedStyle(pre);
      return { whiteSpace: style.whiteSpace, overflowX: style.overflowX, scroll: pre.scrollWidth - pre.clientWidth, height: pre.clientHeight };
    })()`);
    expect(layout.whiteSpace).toBe('pre');
    expect(layout.overflowX).toBe('auto');
    expect(layout.scroll).toBeGreaterThan(100);
    // One line of code: the block is about one line high (plus its padding).
    expect(layout.height).toBeLessThan(80);
    await page.screenshot({ path: `${ARTIFACTS}post-code-390.png` });
    expect(problems).toEqual([]);
  }, 60_000);
});
