import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfFrom, login, startTestApp, type TestApp } from '../support/app.ts';
import { closeApp, parallelReadsMissing } from './blog.ts';
import { recordFigures, scaled } from './scale.ts';

// test/blog/routes/admin.test.ts shows one 409 with its page; this races many saves at once.

let t: TestApp;
let postId: number;
const sessions: supertest.Agent[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { CACHE_TYPE: 'memory' } });
  postId = (await t.addPost({ title: 'Contested', body: 'Original', category: 'news' })).id;
  for (let i = 0; i < 5; i++) {
    const agent = t.request();
    await login(agent);
    sessions.push(agent);
  }
});
afterAll(() => closeApp(t));

/** Loads the editor in a session: the version it edits and its token. */
async function openEditor(agent: supertest.Agent): Promise<{ version: string; csrf: string }> {
  const form = await agent.get(`/admin/posts/${postId}/edit`).expect(200);
  return { version: /name="version" value="(\d+)"/.exec(form.text)?.[1] ?? '', csrf: csrfFrom(form.text) };
}

describe('concurrent edits of one post from several sessions', () => {
  it('each save succeeds or gets a 409 with both texts: no silent overwrite, no 500, readers see the winner', async () => {
    const rounds = scaled(20, 200);
    const tally = { saved: 0, conflicts: 0, other: 0, stale: 0 };
    for (let round = 0; round < rounds; round++) {
      // Two sessions most rounds, all five every fifth round.
      const racers = round % 5 === 4 ? sessions : [sessions[round % 5], sessions[(round + 1) % 5]];
      const editors = await Promise.all(racers.map(openEditor));
      expect(new Set(editors.map((e) => e.version)).size, 'everyone edits the same version').toBe(1);
      const before = await t.posts.get(postId);
      const titles = racers.map((_, i) => `Round ${round} by session ${i}`);
      const responses = await Promise.all(
        racers.map((agent, i) =>
          agent
            .post(`/admin/posts/${postId}`)
            .type('form')
            .send({ _csrf: editors[i].csrf, version: editors[i].version, title: titles[i], body: `Body ${round}/${i}`, category: 'news', published: 'on' }),
        ),
      );
      const statuses = responses.map((res) => res.status);
      expect(statuses.every((status) => status === 303 || status === 409), `round ${round}: ${statuses.join(', ')}`).toBe(true);
      const winners = statuses.flatMap((status, i) => (status === 303 ? [i] : []));
      expect(winners, `round ${round}: exactly one save of version ${editors[0].version} wins`).toHaveLength(1);
      const after = await t.posts.get(postId);
      expect(after?.title).toBe(titles[winners[0]]);
      expect(after?.version).toBe((before?.version ?? 0) + 1);
      for (const [i, res] of responses.entries()) {
        if (res.status !== 409) continue;
        // The loser keeps their text and sees what was saved instead.
        expect(res.text).toContain('changed elsewhere');
        expect(res.text).toContain(`Body ${round}/${i}`);
        expect(res.text).toContain(`Body ${round}/${winners[0]}`);
      }
      tally.saved += winners.length;
      tally.conflicts += statuses.filter((status) => status === 409).length;
      tally.other += statuses.filter((status) => status !== 303 && status !== 409).length;
      tally.stale += (await parallelReadsMissing(t, `/posts/${postId}`, titles[winners[0]])).length;
    }
    recordFigures('concurrent edits of one post', { rounds, ...tally });
    expect(tally.stale).toBe(0);
  }, scaled(60_000, 600_000));
});
