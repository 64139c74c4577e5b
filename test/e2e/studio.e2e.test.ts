import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHOR, startTestApp, type TestApp } from '../support/app.ts';
import { launchChromium, requireChromium } from '../support/services.ts';

/**
 * The author's studio as a new author uses it: a real Kiln (memory cache) on a real HTTP server,
 * driven in Debian's Chromium through playwright-core, at 1280 and 390 px wide.
 */

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/studio/', import.meta.url));
const hasChromium = await requireChromium();

let app: TestApp;
let browser: Browser;
let base: string;
/**
 * The browser profile of the tests: a new profile costs Chromium seconds on a busy machine, so
 * each test starts this one afresh instead (signed out, one tab; see freshProfile).
 */
let profile: BrowserContext;
/** Script errors, CSP refusals and unexpected failed responses, per test. */
let problems: string[] = [];

/** The tab every test starts in (a new tab costs Chromium a second or more on a busy machine). */
let main: Page;

/** The test profile signed out, with only its main tab open (stored drafts stay: their keys are per post). */
async function freshProfile(): Promise<BrowserContext> {
  for (const page of profile.pages()) if (page !== main) await page.close();
  await profile.clearCookies();
  problems = [];
  return profile;
}

/** A tab of `context` that reports script errors, CSP refusals and 5xx answers. */
async function newTab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

/** Fills the login form the page shows and submits it. */
async function submitLogin(page: Page): Promise<void> {
  await page.fill('#username', AUTHOR.username);
  await page.fill('#password', AUTHOR.password);
  await Promise.all([page.waitForNavigation(), page.locator('form[action="/login"] button[type="submit"]').click()]);
}

/** Signs in on `page` through the login form and waits for the page it lands on. */
async function signIn(page: Page, loginPath = '/login'): Promise<void> {
  await page.goto(`${base}${loginPath}`);
  await submitLogin(page);
}

/** Clicks the editor's Save and waits for the page it leads to. */
async function save(page: Page): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.locator('#editor button[type="submit"]').click()]);
}

async function flash(page: Page): Promise<string> {
  return page.locator('p.flash').innerText();
}

/** WCAG contrast ratio of two CSS `rgb(…)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (css: string): number => {
    const [r, g, bl] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe.skipIf(!hasChromium)('the studio in Chromium', () => {
  beforeAll(async () => {
    app = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
    await app.addPost({ title: 'Existing', category: 'web-dev', body: 'Old **text**' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the test server is not listening');
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
    profile = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    main = await newTab(profile);
    mkdirSync(SCREENSHOTS, { recursive: true });
    console.log(`studio screenshots: ${SCREENSHOTS}`);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('previews as the author types, as readers will see it; checks the category; focuses an error; fits 1280 and 390 px', async () => {
    await freshProfile();
    const page = main;
    await signIn(page);
    await page.goto(`${base}/admin/posts/new`);
    const previews: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/api/v1/preview')) previews.push(request.headers()['x-csrf-token'] ?? '');
    });

    // The category rule is checked while typing; the categories in use are offered.
    expect(await page.locator('#category-names option').evaluateAll((options) => options.map((o) => o.getAttribute('value')))).toEqual(['web-dev']);
    await page.locator('#category').pressSequentially('Web Dev');
    expect(await page.getAttribute('#category', 'aria-invalid')).toBe('true');
    expect(await page.locator('#category-error').innerText()).toContain('Lowercase letters, digits and single dashes');
    await page.fill('#category', 'studio-notes');
    expect(await page.getAttribute('#category', 'aria-invalid')).toBeNull();
    expect(await page.locator('#category-error').isVisible()).toBe(false);

    // The preview follows typing, debounced: one request per pause, not per key.
    await page.fill('#title', 'Written in Chromium');
    await page.locator('#body').pressSequentially('Hello **bold** and `code`');
    await page.locator('#preview-body strong', { hasText: 'bold' }).waitFor();
    await page.locator('#preview-body code', { hasText: 'code' }).waitFor();
    expect(await page.locator('#preview-title').innerText()).toBe('Written in Chromium');
    expect(previews.length).toBeGreaterThan(0);
    expect(previews.length).toBeLessThan(6);
    expect(new Set(previews).size).toBe(1);
    expect(previews[0]).toMatch(/^[\w-]{43}$/);
    await page.locator('#body').pressSequentially('\n\n> quoted');
    await page.locator('#preview-body blockquote', { hasText: 'quoted' }).waitFor();

    // Controls' borders are at least 3:1 against the page.
    const colours = await page.evaluate(`[getComputedStyle(document.getElementById('title')).borderTopColor, getComputedStyle(document.body).backgroundColor]`);
    const [border, background] = colours as [string, string];
    expect(contrast(border, background)).toBeGreaterThanOrEqual(3);

    // Side by side at 1280 px; stacked, without sideways scrolling, at 390 px.
    const formBox = await page.locator('#editor').boundingBox();
    const previewBox = await page.locator('.studio-preview').boundingBox();
    expect(previewBox && formBox && previewBox.x > formBox.x + formBox.width - 1).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}editor-1280.png`, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const narrowForm = await page.locator('#editor').boundingBox();
    const narrowPreview = await page.locator('.studio-preview').boundingBox();
    expect(narrowPreview && narrowForm && narrowPreview.y >= narrowForm.y + narrowForm.height).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}editor-390.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Saved, the reader's page holds exactly what the preview showed.
    const previewed = (await page.locator('#preview-body').innerHTML()).trim();
    await save(page);
    expect(await flash(page)).toBe('Published “Written in Chromium”.');
    // Read as a reader (no cookie), parsed by this browser as the preview's HTML was.
    const asReader = await (await fetch(page.url())).text();
    const readerBody = /<div class="post-body">([\s\S]*?)<\/div>\s*<\/article>/.exec(asReader)?.[1] ?? '';
    const parsed = await page.evaluate(`(() => { const box = document.createElement('div'); box.innerHTML = ${JSON.stringify(readerBody)}; return box.innerHTML.trim(); })()`);
    expect(parsed).toBe(previewed);

    // A field the server refuses is marked and focused when the form comes back.
    await page.goto(`${base}/admin/posts/new`);
    await page.fill('#title', 'Blank');
    await page.fill('#category', 'notes');
    await page.fill('#body', '   ');
    await save(page);
    expect(await page.getAttribute('#body', 'aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement.id')).toBe('body');
    expect(await page.evaluate(`document.getElementById('body').getAttribute('aria-describedby')`)).toBe('body-error');
    expect(problems).toEqual([]);
  });

  it('warns before leaving unsaved text, offers it back after the tab closed, and forgets it once saved', async () => {
    const context = await freshProfile();
    const page = await newTab(context);
    await signIn(page);
    const post = await app.addPost({ title: 'Recoverable', body: 'Saved text' });
    const editorUrl = `${base}/admin/posts/${post.id}/edit`;
    await page.goto(editorUrl);
    await page.locator('#body').fill('');
    await page.locator('#body').pressSequentially('Unsaved draft text');

    // Leaving asks first; staying keeps the text.
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.type());
      void dialog.dismiss();
    });
    await page.locator('.site-header a[href="/about"]').click();
    await expect.poll(() => dialogs).toEqual(['beforeunload']);
    expect(page.url()).toBe(editorUrl);
    expect(await page.inputValue('#body')).toBe('Unsaved draft text');

    // The tab closes without saving (a crash would do the same).
    const key = `kiln.draft:post:${post.id}`;
    await expect.poll(() => page.evaluate(`localStorage.getItem(${JSON.stringify(key)}) || ''`)).toContain('Unsaved draft text');
    await page.close();

    // Back in the editor: the saved text, and a question, never a silent restore.
    const again = main;
    await again.goto(editorUrl);
    await again.locator('#draft-recovery').waitFor();
    expect(await again.inputValue('#body')).toBe('Saved text');
    await again.locator('#draft-restore').click();
    expect(await again.inputValue('#body')).toBe('Unsaved draft text');
    expect(await again.locator('#draft-recovery').isVisible()).toBe(false);
    await again.locator('#preview-body', { hasText: 'Unsaved draft text' }).waitFor();

    // Unpublished and saved: the flash says so, and the browser forgets the draft.
    await again.locator('input[name="published"]').uncheck();
    await save(again);
    expect(await flash(again)).toBe('Unpublished “Recoverable”: readers no longer see it.');
    expect(await again.evaluate(`localStorage.getItem(${JSON.stringify(key)})`)).toBeNull();
    await again.goto(editorUrl);
    expect(await again.locator('#draft-recovery').isVisible()).toBe(false);
    expect((await app.posts.get(post.id, { includeDrafts: true }))?.body).toBe('Unsaved draft text');

    // Discarding works too.
    await again.locator('#body').fill('Throwaway');
    await expect.poll(() => again.evaluate(`localStorage.getItem(${JSON.stringify(key)}) || ''`)).toContain('Throwaway');
    const third = await newTab(context);
    await third.goto(editorUrl);
    await third.locator('#draft-discard').click();
    expect(await third.inputValue('#body')).toBe('Unsaved draft text');
    expect(await third.evaluate(`localStorage.getItem(${JSON.stringify(key)})`)).toBeNull();
    expect(problems).toEqual([]);
  });

  it('keeps a save made after logging out in another tab: back in the editor after the login, then saved', async () => {
    const context = await freshProfile();
    const editor = main;
    await signIn(editor);
    const post = await app.addPost({ title: 'Signed out', body: 'Before' });
    await editor.goto(`${base}/admin/posts/${post.id}/edit`);
    await editor.locator('#body').fill('Written while the session ended');

    const other = await newTab(context);
    await other.goto(`${base}/`);
    await Promise.all([other.waitForNavigation(), other.locator('form[action="/logout"] button').click()]);

    await save(editor);
    expect(new URL(editor.url()).pathname).toBe('/login');
    expect(new URL(editor.url()).searchParams.get('next')).toBe(`/admin/posts/${post.id}/edit`);
    expect(await editor.locator('.notice').innerText()).toContain('Your changes are kept');
    await submitLogin(editor);
    expect(editor.url()).toBe(`${base}/admin/posts/${post.id}/edit`);
    expect(await editor.inputValue('#body')).toBe('Written while the session ended');
    expect(await editor.locator('[role="alert"]').first().innerText()).toContain('You were signed out before this was saved');
    expect((await app.posts.get(post.id))?.body).toBe('Before');
    await save(editor);
    expect(await flash(editor)).toBe('Saved “Signed out”.');
    expect((await app.posts.get(post.id))?.body).toBe('Written while the session ended');
    expect(problems).toEqual([]);
  });

  it('deletes only after a confirmation, from the editor or the list; a save on the deleted post becomes a new post', async () => {
    const context = await freshProfile();
    const editor = main;
    await signIn(editor);
    const post = await app.addPost({ title: 'Short-lived', body: 'First' });
    await editor.goto(`${base}/admin/posts/${post.id}/edit`);
    await editor.locator('#body').fill('Still wanted');

    // Another tab deletes it from its editor: a question first, then the flash.
    const other = await newTab(context);
    await other.goto(`${base}/admin/posts/${post.id}/edit`);
    await Promise.all([other.waitForNavigation(), other.locator('a', { hasText: 'Delete this post…' }).click()]);
    expect(await other.locator('h1').innerText()).toBe('Delete “Short-lived”?');
    expect(await app.posts.get(post.id)).not.toBeNull();
    await Promise.all([other.waitForNavigation(), other.locator('button', { hasText: 'Delete this post' }).click()]);
    expect(new URL(other.url()).pathname).toBe('/admin');
    expect(await flash(other)).toBe('Deleted “Short-lived”.');
    expect(await app.posts.get(post.id)).toBeNull();

    // The first tab's save is offered as a new post.
    await save(editor);
    expect(await editor.locator('[role="alert"]').first().innerText()).toContain('Save creates it as a new post');
    expect(await editor.inputValue('#body')).toBe('Still wanted');
    await save(editor);
    expect(await flash(editor)).toBe('Published “Short-lived”.');

    // The list's Delete button asks first too.
    const listed = await app.addPost({ title: 'Listed' });
    await other.goto(`${base}/admin`);
    await Promise.all([other.waitForNavigation(), other.locator(`form[action="/admin/posts/${listed.id}/delete"] button`).click()]);
    expect(await other.locator('h1').innerText()).toBe('Delete “Listed”?');
    expect(await app.posts.get(listed.id)).not.toBeNull();
    expect(problems).toEqual([]);
  });

  it('links to Log in from public pages, returns to ?next after it, and never to another site', async () => {
    await freshProfile();
    const page = main;
    await page.goto(`${base}/`);
    await Promise.all([page.waitForNavigation(), page.locator('footer a', { hasText: 'Log in' }).click()]);
    expect(new URL(page.url()).pathname).toBe('/login');

    const post = await app.addPost({ title: 'Deep link' });
    await page.goto(`${base}/admin/posts/${post.id}/edit`);
    expect(page.url()).toBe(`${base}/login?next=/admin/posts/${post.id}/edit`);
    await submitLogin(page);
    expect(page.url()).toBe(`${base}/admin/posts/${post.id}/edit`);

    // Every spelling is refused in test/blog/web/next-path.test.ts; here, as a browser follows them.
    for (const next of ['//evil.example/', '/\\evil.example', '/%2F%2Fevil.example']) {
      await profile.clearCookies();
      await signIn(page, `/login?next=${encodeURIComponent(next)}`);
      expect(page.url(), next).toBe(`${base}/admin`);
    }
    expect(problems).toEqual([]);
  });

  it('has no 403 trap: two login tabs, and a Log out left open after logging out elsewhere', async () => {
    const context = await freshProfile();
    const first = main;
    const second = await newTab(context);
    await first.goto(`${base}/login`);
    await second.goto(`${base}/login`);
    await submitLogin(first);
    expect(new URL(first.url()).pathname).toBe('/admin');
    const answer = second.waitForResponse((res) => res.url() === `${base}/login` && res.request().method() === 'POST');
    await submitLogin(second);
    expect((await answer).status()).toBe(303);
    expect(new URL(second.url()).pathname).toBe('/admin');
    expect(await flash(second)).toBe('You are already signed in as author.');

    // Two tabs with a Log out button; the first logs out, then the second's button is clicked.
    await first.goto(`${base}/`);
    await second.goto(`${base}/about`);
    await Promise.all([first.waitForNavigation(), first.locator('form[action="/logout"] button').click()]);
    const logout = second.waitForResponse((res) => res.url() === `${base}/logout`);
    await Promise.all([second.waitForNavigation(), second.locator('form[action="/logout"] button').click()]);
    expect((await logout).status()).toBe(303);
    expect(second.url()).toBe(`${base}/`);
    expect(await second.locator('footer a', { hasText: 'Log in' }).count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
