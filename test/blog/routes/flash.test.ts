import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../../support/app.ts';

let t: TestApp;
let author: supertest.Agent;
let csrf: string;

beforeAll(async () => {
  // A real page cache, so "never on a cached page" means something.
  t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
  author = t.request();
  csrf = await login(author);
});
afterAll(() => t.close());

const fields = (over: Record<string, string> = {}) => ({ _csrf: csrf, title: 'Flashy', body: 'Text', category: 'news', published: 'on', ...over });

/** The flash of a page, or null. */
function flashOf(html: string): string | null {
  return /<p class="flash" role="status"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? null;
}

describe('flash messages', () => {
  it('confirm a create, save, unpublish, publish and delete, each once, on the next page', async () => {
    const created = await author.post('/admin/posts').type('form').send(fields({ draft: 'abcdefgh1234' })).expect(303);
    const path = String(created.headers.location);
    const id = Number(path.split('/').pop());
    const first = await author.get(path).expect(200);
    expect(flashOf(first.text)).toBe('Published “Flashy”.');
    // The page after a save names the browser-kept draft it made obsolete, for the editor script.
    expect(first.text).toContain('data-draft-saved="new:abcdefgh1234"');
    expect(first.text).toMatch(/<script src="\/static\/js\/editor\.[0-9a-f]{8}\.js" defer><\/script>/);
    expect(flashOf((await author.get(path).expect(200)).text)).toBeNull();

    const steps: [Record<string, string>, string][] = [
      [{ title: 'Flashy 2', version: '1' }, 'Saved “Flashy 2”.'],
      [{ title: 'Flashy 2', published: '', version: '2' }, 'Unpublished “Flashy 2”: readers no longer see it.'],
      [{ title: 'Flashy 2', version: '3' }, 'Published “Flashy 2”.'],
    ];
    for (const [over, message] of steps) {
      await author.post(`/admin/posts/${id}`).type('form').send(fields(over)).expect(303);
      const page = await author.get(path).expect(200);
      expect(flashOf(page.text)).toBe(message);
      expect(page.text).toContain(`data-draft-saved="post:${id}"`);
    }
    const draft = await author.post('/admin/posts').type('form').send(fields({ published: '' })).expect(303);
    expect(flashOf((await author.get(String(draft.headers.location)).expect(200)).text)).toBe('Saved “Flashy” as a draft: only you can see it.');

    await author.post(`/admin/posts/${id}/delete`).type('form').send({ _csrf: csrf, confirm: 'yes' }).expect(303).expect('Location', '/admin');
    expect(flashOf((await author.get('/admin').expect(200)).text)).toBe('Deleted “Flashy 2”.');
    expect(flashOf((await author.get('/admin').expect(200)).text)).toBeNull();
  });

  it('wait out an error page in between (a missing favicon, say) for the page they were meant for', async () => {
    const created = await author.post('/admin/posts').type('form').send(fields({ title: 'Patient' })).expect(303);
    expect(flashOf((await author.get('/no-such-icon.ico').expect(404)).text)).toBeNull();
    expect(flashOf((await author.get(String(created.headers.location)).expect(200)).text)).toBe('Published “Patient”.');
  });

  it('never reach a reader or a cached page: the author bypasses the cache, readers share one copy', async () => {
    const created = await author.post('/admin/posts').type('form').send(fields({ title: 'Unseen' })).expect(303);
    const path = String(created.headers.location);
    // A reader fills the cache first; the author's page with the flash is built for the author alone.
    const reader = await t.request().get(path).expect(200);
    const own = await author.get(path).expect(200);
    expect(flashOf(own.text)).toBe('Published “Unseen”.');
    expect(own.headers['x-cache']).toBe('BYPASS');
    expect(own.headers['cache-control']).toBe('private, no-store');
    const again = await t.request().get(path).expect(200);
    expect(again.headers['x-cache']).toBe('HIT');
    for (const page of [reader, again]) {
      expect(flashOf(page.text)).toBeNull();
      expect(page.text).not.toContain('data-draft-saved');
    }
    expect(again.text).toBe(reader.text);
  });

  it('are not shown to the author of another session', async () => {
    const other = t.request();
    const otherCsrf = await login(other);
    await other.post('/admin/posts').type('form').send(fields({ _csrf: otherCsrf, title: 'Theirs' })).expect(303);
    expect(flashOf((await author.get('/admin').expect(200)).text)).toBeNull();
    expect(flashOf((await other.get('/admin').expect(200)).text)).toBe('Published “Theirs”.');
    expect(csrfFrom((await other.get('/admin').expect(200)).text)).toBe(otherCsrf);
  });
});
