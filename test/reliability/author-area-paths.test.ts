import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/blog/routes/admin.ts';
import type { Post } from '../../src/blog/services/posts.ts';
import { loginUrl } from '../../src/blog/web/next-path.ts';
import { SITE_URL, loginForm, loginRaw, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp } from './blog.ts';
import { pathVariants } from './path-variants.ts';
import { eachLimited, rawHeader, rawTarget } from './raw-http.ts';
import { recordFigures } from './scale.ts';

/** Texts only the author's pages show: the draft (title and Markdown), the post list, the editor. */
const MARK = 'zq81';
const AUTHOR_ONLY = [MARK, 'Your posts', 'class="admin-posts"', '<textarea', 'draft-marker'];

/** Every route of the admin router, read from its own route table: a route added later is covered too. */
function authorRoutes(): { pattern: string; methods: string[] }[] {
  return adminRoutes()
    .stack.filter((layer) => layer.methods.length > 0)
    .map((layer) => ({ pattern: String(layer.path), methods: layer.methods }));
}

/** `pattern` with every parameter (`:id`) replaced by `id`. */
function pathFor(pattern: string, id: number): string {
  return pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, String(id));
}

function port(t: TestApp): number {
  const address = t.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('the author area under every spelling of its paths', () => {
  let t: TestApp;
  let draft: Post;
  /** Cookies a visitor who is not the author can send. */
  let visitors: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(48), CACHE_TYPE: 'memory' } });
    await t.addPost({ title: 'A published post', body: 'Public text.' });
    draft = await t.addPost({ title: `Unpublished plan ${MARK}`, body: `Draft **Markdown** ${MARK}-body, not for readers`, published: false });
    // A real, correctly signed session cookie whose session has ended (no reader session is ever stored).
    const ended = await loginRaw(t);
    await supertest(t.server).post('/logout').set('Cookie', ended.cookie).set('Origin', SITE_URL).set('X-CSRF-Token', ended.csrf).expect(303);
    visitors = {
      anonymous: '',
      'junk kiln.sid': 'kiln.sid=junk',
      'forged kiln.sid': `kiln.sid=${'A'.repeat(24)}.${'x'.repeat(43)}`,
      'ended session': ended.cookie,
      'login form cookie': (await loginForm(t)).cookie,
    };
  });
  afterAll(() => closeApp(t));

  it('reads the routes from the admin router and serves each to the author at its canonical path', async () => {
    const routes = authorRoutes();
    expect(routes.map((r) => r.pattern)).toEqual(expect.arrayContaining(['/admin', '/admin/posts/:id/edit']));
    const { cookie } = await loginRaw(t);
    for (const route of routes.filter((r) => r.methods.includes('GET'))) {
      const res = await rawTarget(port(t), pathFor(route.pattern, draft.id), { headers: { Cookie: cookie } });
      expect(res.status, route.pattern).toBe(200);
    }
    const edit = await rawTarget(port(t), `/admin/posts/${draft.id}/edit`, { headers: { Cookie: cookie } });
    expect(edit.text).toContain(MARK);
  });

  it('answers a visitor who is not the author with 303 to /login or 404, never author content, whatever the spelling', async () => {
    const requests: { method: string; target: string; visitor: string }[] = [];
    for (const route of authorRoutes()) {
      const path = pathFor(route.pattern, draft.id);
      const methods = route.methods.includes('POST') ? ['GET', 'POST'] : ['GET'];
      for (const target of [path, ...pathVariants(path, SITE_URL)]) {
        for (const method of methods) for (const visitor of Object.keys(visitors)) requests.push({ method, target, visitor });
      }
    }
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    await eachLimited(requests, 8, async ({ method, target, visitor }) => {
      const cookie = visitors[visitor];
      const headers: Record<string, string> = cookie === '' ? {} : { Cookie: cookie };
      const form = `title=Pwned&body=pwned&category=pwned&published=on&version=${draft.version}`;
      const res = await rawTarget(port(t), target, method === 'POST' ? { method, body: form, headers: { ...headers, Origin: SITE_URL, 'Content-Type': 'application/x-www-form-urlencoded' } } : { headers });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      // A GET is asked back after the login (a path the canonical check passed: only those get here).
      const login = method === 'GET' ? loginUrl(target) : '/login';
      const allowed = res.status === 404 || (res.status === 303 && rawHeader(res, 'Location') === login) || (method === 'POST' && res.status === 403);
      const leaked = AUTHOR_ONLY.filter((text) => res.text.includes(text));
      if (!allowed || leaked.length > 0) failures.push(`${method} ${JSON.stringify(target)} as ${visitor}: ${res.status} ${rawHeader(res, 'Location') ?? ''} ${leaked.join(', ')}`);
    });
    recordFigures('author area under other spellings', { requests: requests.length, statuses });
    expect(failures).toEqual([]);
    // Nothing was written either.
    const stored = await t.posts.get(draft.id, { includeDrafts: true });
    expect(stored).toMatchObject({ title: draft.title, body: draft.body, version: draft.version, published: false });
    expect(await t.posts.listAll()).toHaveLength(2);
  }, 120_000);
});
