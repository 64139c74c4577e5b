import { describe, expect, it } from 'vitest';
import { CATEGORIES, generatePosts } from '../../bench/posts-data.ts';

describe('generatePosts()', () => {
  const posts = generatePosts(300, 20240601);

  it('is deterministic: the same count and seed give the same posts, another seed others', () => {
    expect(JSON.stringify(generatePosts(300, 20240601))).toBe(JSON.stringify(posts));
    expect(generatePosts(5, 1)[0]).not.toEqual(generatePosts(5, 2)[0]);
  });

  it('has the shape of the standard data set: fields, categories, unique slugs, dates oldest first within 2023-2024', () => {
    for (const post of posts) {
      expect(Object.keys(post)).toEqual(['title', 'slug', 'category', 'body', 'created_at', 'published']);
      expect(CATEGORIES).toContain(post.category);
      expect(post.slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(post.created_at).toMatch(/^202[34]-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(post.published).toBe(true);
    }
    expect(new Set(posts.map((p) => p.slug)).size).toBe(300);
    const dates = posts.map((p) => p.created_at);
    expect(dates).toEqual([...dates].sort());
    expect(new Set(posts.map((p) => p.category)).size).toBe(CATEGORIES.length);
  });

  it('writes Markdown bodies of 2-6 KB with headings, a list, a code block, links and emphasis', () => {
    for (const { body } of posts) {
      expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(2048);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(6144);
      expect(body).toMatch(/^##+ \S/m);
      expect(body).toMatch(/^- \S/m);
      expect(body).toMatch(/^```\w+\n[\s\S]+?```$/m);
      expect(body).toMatch(/\[[^\]]+\]\(https:\/\/[^)]+\)/);
      expect(body).toMatch(/\*[^*\s][^*]*\*/);
    }
  });
});
