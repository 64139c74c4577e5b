import { describe, expect, it } from 'vitest';
import { MANY_POSTS, postChangeTags } from '../../src/blog/caching.ts';
import type { PostFacts } from '../../src/blog/services/posts.ts';

const published: PostFacts = { title: 'T', category: 'koa', published: true, createdAt: new Date(Date.UTC(2025, 0, 1)) };
const draft: PostFacts = { ...published, published: false };
const sorted = (tags: string[]) => [...tags].sort();

describe('postChangeTags()', () => {
  it('invalidates the lists and the sidebar for a new published post, and no post page (it has none yet)', () => {
    expect(sorted(postChangeTags([{ id: null, before: null, after: published }]))).toEqual(['lists', 'sidebar']);
  });

  it('invalidates only the post pages of a draft that stays a draft', () => {
    expect(postChangeTags([{ id: null, before: null, after: draft }])).toEqual([]);
    expect(postChangeTags([{ id: 4, before: draft, after: { ...draft, title: 'New' } }])).toEqual(['post:4']);
  });

  it('leaves the sidebar alone when a published post changes only its body', () => {
    expect(sorted(postChangeTags([{ id: 4, before: published, after: { ...published } }]))).toEqual(['lists', 'post:4']);
  });

  it.each([
    ['its title', { title: 'Renamed' }],
    ['its category', { category: 'cache' }],
    ['its date', { createdAt: new Date(Date.UTC(2025, 5, 1)) }],
    ['being unpublished', { published: false }],
  ])('invalidates the sidebar when a published post changes %s', (_, change) => {
    expect(sorted(postChangeTags([{ id: 4, before: published, after: { ...published, ...change } }]))).toEqual(['lists', 'post:4', 'sidebar']);
  });

  it('invalidates everything showing a post that is published or deleted', () => {
    expect(sorted(postChangeTags([{ id: 4, before: draft, after: published }]))).toEqual(['lists', 'post:4', 'sidebar']);
    expect(sorted(postChangeTags([{ id: 4, before: published, after: null }]))).toEqual(['lists', 'post:4', 'sidebar']);
  });

  it('invalidates the pages of many posts as one tag', () => {
    const changes = Array.from({ length: MANY_POSTS + 1 }, (_, i) => ({ id: i + 1, before: published, after: published }));
    expect(sorted(postChangeTags(changes))).toEqual(['lists', 'post-pages']);
    expect(postChangeTags(changes.slice(0, MANY_POSTS))).toHaveLength(MANY_POSTS + 1);
  });
});
