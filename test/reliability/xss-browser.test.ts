import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginRaw, login, startTestApp, type TestApp } from '../support/app.ts';
import { launchChromium, requireChromium } from '../support/services.ts';
import { baseUrl, closeApp } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';
import { CONTROL_HTML, hostilePosts } from './xss-corpus.ts';

const hasChromium = await requireChromium();

let t: TestApp;
let browser: Browser;
let base: string;
const ids: number[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
  base = baseUrl(t);
  // The corpus goes in the way an author's text does: through the editor form.
  const author: supertest.Agent = t.request();
  const csrf = await login(author);
  for (const post of hostilePosts()) {
    const res = await author.post('/admin/posts').type('form').send({ _csrf: csrf, title: post.title, body: post.body, category: 'attacks', published: 'on' });
    expect(res.status, `${post.title}: ${res.text.slice(0, 200)}`).toBe(303);
    ids.push(Number(String(res.headers.location).split('/').pop()));
  }
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  if (hasChromium) await closeApp(t);
});

/** Tabs opened at once per profile: page loads overlap with the server's work. */
const TABS = 3;

/** A browser profile whose tabs report every script execution: the tripwire, dialogs, console. */
async function trippedContext(options: { bypassCSP: boolean }, fired: string[]): Promise<{ context: BrowserContext; pages: Page[] }> {
  const context = await browser.newContext(options);
  await context.exposeBinding('__tripwire', (_source, id: unknown) => void fired.push(`__tripwire(${String(id)})`));
  // Loopback only: nothing a payload names elsewhere is fetched.
  await context.route('**/*', (route) => (route.request().url().startsWith(base) || route.request().url().startsWith('data:') ? route.continue() : route.abort()));
  const pages: Page[] = [];
  for (let i = 0; i < TABS; i++) {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => {
      fired.push(`${dialog.type()}(${dialog.message()})`);
      void dialog.dismiss();
    });
    page.on('console', (message) => {
      if (message.text().includes('TRIPWIRE')) fired.push(`console: ${message.text()}`);
    });
    pages.push(page);
  }
  return { context, pages };
}

/**
 * Runs in the page (plain JavaScript: this project compiles without DOM types). Fires the events a
 * reader could cause on every element of the main content, with link and form navigation
 * cancelled, then lists markup that could run code: event-handler attributes, script-like URLs,
 * srcdoc, active or styled elements inside a post, and any script at all.
 */
const PROVOKE = `(() => {
  document.addEventListener('click', (event) => event.preventDefault(), true);
  document.addEventListener('submit', (event) => event.preventDefault(), true);
  for (const el of document.querySelectorAll('main *')) {
    for (const type of ['mouseover', 'mouseenter', 'mousemove', 'pointerover', 'focus', 'focusin', 'click', 'dblclick', 'animationstart', 'toggle', 'load', 'error']) {
      el.dispatchEvent(new Event(type, { bubbles: true, cancelable: true }));
    }
    if (typeof el.focus === 'function') el.focus();
  }
  const found = [];
  const urlAttributes = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcset', 'poster', 'background'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (name.startsWith('on')) found.push('<' + tag + ' ' + name + '>');
      if (name === 'srcdoc') found.push('<' + tag + ' srcdoc>');
      if (urlAttributes.includes(name) && /^(javascript|vbscript|data):/.test(value)) found.push('<' + tag + ' ' + name + '=' + value.slice(0, 30) + '>');
    }
  }
  const active = ['script', 'iframe', 'object', 'embed', 'base', 'meta', 'style', 'form', 'input', 'button', 'svg', 'math', 'template', 'link', 'textarea'];
  for (const el of document.querySelectorAll('.post-body *')) {
    const tag = el.tagName.toLowerCase();
    if (active.includes(tag)) found.push('<' + tag + '> in a post');
    if (el.hasAttribute('style')) found.push('<' + tag + ' style> in a post');
  }
  const scripts = Array.from(document.querySelectorAll('script')).filter((s) => !(s.getAttribute('src') || '').startsWith('/static/'));
  if (scripts.length > 0) found.push(scripts.length + ' <script> in the page');
  return found;
})()`;

/** Provokes the current page (see PROVOKE) and resolves what it found. */
async function provoke(page: Page): Promise<string[]> {
  const found: unknown = await page.evaluate(PROVOKE);
  return Array.isArray(found) ? found.map(String) : [`unexpected result: ${String(found)}`];
}

/** Opens each URL (twice for readers: the second comes from the page cache) and provokes it. */
async function visit(pages: Page[], urls: string[], repeat: number): Promise<{ visits: number; markup: string[] }> {
  const markup: string[] = [];
  let visits = 0;
  const queue = urls.flatMap((url) => Array.from({ length: repeat }, () => url));
  await Promise.all(
    pages.map(async (page) => {
      for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
        const res = await page.goto(`${base}${url}`, { waitUntil: 'load' });
        expect(res?.status(), url).toBe(200);
        visits += 1;
        for (const found of await provoke(page)) markup.push(`${url}: ${found}`);
      }
    }),
  );
  return { visits, markup };
}

describe.skipIf(!hasChromium)('hostile Markdown in real Chromium', () => {
  it('has a corpus of at least 30 hostile posts, created through the author form', () => {
    expect(ids.length).toBeGreaterThanOrEqual(30);
  });

  it('has a tripwire that fires on an unsanitized page (the detector works)', async () => {
    const fired: string[] = [];
    const { context, pages } = await trippedContext({ bypassCSP: true }, fired);
    try {
      await pages[0].setContent(CONTROL_HTML);
      await pages[0].waitForTimeout(200);
      expect(fired).toContain('__tripwire(999)');
      expect(fired).toContain('alert(998)');
    } finally {
      await context.close();
    }
  });

  // CI runs the stricter half (the sanitizer without CSP's help); KILN_FULL=1 also runs the page as served.
  for (const bypassCSP of scaled([true], [true, false])) {
    const how = bypassCSP ? 'the sanitizer alone (CSP bypassed)' : 'as served (sanitizer + CSP)';
    it(`runs 0 payloads for readers, ${how}`, async () => {
      const fired: string[] = [];
      const { context, pages } = await trippedContext({ bypassCSP }, fired);
      try {
        const urls = [...ids.map((id) => `/posts/${id}`), '/', '/?page=2', '/?page=3', '/category/attacks', '/category/attacks?page=2'];
        const { visits, markup } = await visit(pages, urls, scaled(1, 2));
        recordFigures(`markdown XSS in Chromium, reader, ${how}`, { posts: ids.length, visits, executions: fired.length, dangerousMarkup: markup.length });
        expect(fired, 'payloads that ran').toEqual([]);
        expect(markup, 'markup that could run code').toEqual([]);
      } finally {
        await context.close();
      }
    }, 180_000);
  }

  it('runs 0 payloads for the author either: the post pages and the editor (CSP bypassed)', async () => {
    const fired: string[] = [];
    const { context, pages } = await trippedContext({ bypassCSP: true }, fired);
    try {
      const { cookie } = await loginRaw(t);
      const [name, value] = cookie.split('=');
      await context.addCookies([{ name, value, url: base }]);
      const editors = scaled(ids.filter((_, i) => i % 10 === 0 || i >= ids.length - 8), ids);
      const urls = ['/admin', ...editors.map((id) => `/admin/posts/${id}/edit`), ...editors.map((id) => `/posts/${id}`)];
      const { visits, markup } = await visit(pages, urls, 1);
      recordFigures('markdown XSS in Chromium, author pages, CSP bypassed', { visits, executions: fired.length, dangerousMarkup: markup.length });
      expect(fired, 'payloads that ran').toEqual([]);
      expect(markup, 'markup that could run code').toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);
});
