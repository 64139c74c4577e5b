import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, startTestApp, type TestApp } from '../support/app.ts';
import { launchChromium, requireChromium } from '../support/services.ts';

/**
 * The dev toolbar as a person sees it: a real Kiln (memory cache, toolbar on) on a real HTTP
 * server, driven in Debian's Chromium through playwright-core.
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const hasChromium = await requireChromium();

let app: TestApp;
let browser: Browser;
let base: string;
const problems: string[] = [];

/** A fresh browser profile (its own cookies and localStorage) with one page, reporting script and CSP errors. */
async function newVisitor(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A failed load is reported by the response listener below, with its URL.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

/** What the bar of the current page says the page cache did. */
function pageCache(page: Page): Promise<string | null> {
  return page.locator('#kiln-toolbar').getAttribute('data-page-cache');
}

async function isOpen(page: Page): Promise<boolean> {
  return (await page.locator('.kiln-tb-handle').getAttribute('aria-expanded')) === 'true' && (await page.locator('#kiln-tb-body').isVisible());
}

async function toggle(page: Page): Promise<void> {
  await page.locator('.kiln-tb-handle').click();
}

async function showTab(page: Page, tab: string): Promise<string> {
  await page.locator(`.kiln-tb-tab[data-tab="${tab}"]`).click();
  const panel = page.locator(`.kiln-tb-panel[data-panel="${tab}"]`);
  await panel.waitFor({ state: 'visible' });
  return panel.innerText();
}

describe.skipIf(!hasChromium)('the dev toolbar in Chromium', () => {
  beforeAll(async () => {
    app = await startTestApp({ env: { CACHE_TYPE: 'memory', KILN_TOOLBAR: '1' } });
    for (let i = 0; i < 3; i += 1) await app.addPost({ category: 'caching' }, 3 - i);
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the test server is not listening');
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows MISS then HIT, BYPASS for the author, the invalidation of a save and the next MISS', async () => {
    const reader = await newVisitor();

    // First visit: a MISS, the bar collapsed until opened; its CSS and script come from static/.
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('MISS');
    expect(await isOpen(reader)).toBe(false);
    expect(await reader.evaluate('getComputedStyle(document.getElementById("kiln-toolbar")).position')).toBe('fixed');
    await toggle(reader);
    expect(await isOpen(reader)).toBe(true);
    const miss = await showTab(reader, 'cache');
    expect(miss).toMatch(/Page:\s*MISS/);
    expect(miss).toContain('view("page:index", "/", "")');
    expect(miss).toMatch(/memoize\s+sidebar/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await reader.locator('#kiln-toolbar').screenshot({ path: `${ARTIFACTS}toolbar-cache-panel.png` });

    // Second visit: served by the page cache; the bar is still open (remembered) and shows the lookup.
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('HIT');
    expect(await isOpen(reader)).toBe(true);
    const hit = await reader.locator('.kiln-tb-panel[data-panel="cache"]').innerText();
    expect(hit).toMatch(/Page:\s*HIT/);
    expect(await reader.locator('.kiln-tb-panel[data-panel="cache"] tr.kiln-tb-row-hit').first().innerText()).toContain('view("page:index", "/", "")');

    // Collapse, and it stays collapsed on the next page.
    await toggle(reader);
    expect(await isOpen(reader)).toBe(false);
    await reader.reload();
    expect(await isOpen(reader)).toBe(false);

    // The author: logged in, every page bypasses the cache.
    const author = await newVisitor();
    await author.goto(`${base}/login`);
    await author.fill('#username', AUTHOR.username);
    await author.fill('#password', AUTHOR.password);
    await Promise.all([author.waitForURL(`${base}/admin`), author.locator('form.stacked button[type="submit"]').click()]);
    await author.goto(`${base}/`);
    expect(await pageCache(author)).toBe('BYPASS');

    // Login invalidated the lists; the reader's index is cached again before the edit.
    await reader.goto(`${base}/`);
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('HIT');

    // The author saves a post: the save's request shows the invalidation in the History tab.
    const [post] = await app.posts.listAll();
    await author.goto(`${base}/admin/posts/${post.id}/edit`);
    await author.fill('#title', 'Edited in Chromium');
    await Promise.all([author.waitForURL(`${base}/posts/${post.id}`), author.locator('form.stacked button[type="submit"]').click()]);
    expect(await pageCache(author)).toBe('BYPASS');
    await toggle(author);
    await showTab(author, 'history');
    const save = author.locator('details.kiln-tb-history', { hasText: `POST /admin/posts/${post.id}` }).first();
    await save.locator('summary').click();
    const saveOps = await save.innerText();
    expect(saveOps).toMatch(/invalidateTags\s+lists\s+direct\s+DELETE/);
    expect(saveOps).toMatch(new RegExp(`invalidateTags\\s+post:${post.id}\\s+direct\\s+DELETE`));

    // The same, as JSON for scripts, to the author's browser only (its toolbar cookie).
    const readJson = (page: Page, path: string) => page.evaluate((url) => fetch(url).then((res) => res.json()), path);
    const recent = (await readJson(author, '/_toolbar')) as { requests: { id: string; method: string; url: string }[] };
    const saved = recent.requests.find((r) => r.method === 'POST' && r.url === `/admin/posts/${post.id}`);
    if (!saved) throw new Error('the save is not among the recent requests');
    const detail = (await readJson(author, `/_toolbar/${saved.id}`)) as { request: { status: number; cache: { op: string; key: string; result: string }[] } };
    expect(detail.request.status).toBe(303);
    expect(detail.request.cache).toContainEqual(expect.objectContaining({ op: 'invalidateTags', key: 'lists', result: 'delete' }));
    const theirs = (await readJson(reader, '/_toolbar')) as { requests: { url: string }[] };
    expect(theirs.requests.map((r) => r.url)).not.toContain(`/admin/posts/${post.id}`);

    // The reader's next index is a MISS with the new title.
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('MISS');
    expect(await reader.locator('main').innerText()).toContain('Edited in Chromium');

    // The Stats tab's Clear cache button (a CSRF-checked POST from the page) empties the cache.
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('HIT');
    await toggle(reader);
    await showTab(reader, 'stats');
    await reader.locator('.kiln-tb-clear').click();
    await reader.locator('.kiln-tb-clear-result', { hasText: 'Cache cleared' }).waitFor();
    await reader.goto(`${base}/`);
    expect(await pageCache(reader)).toBe('MISS');

    expect(problems).toEqual([]);
  }, 30_000);
});
