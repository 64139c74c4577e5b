import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { CachedRoute } from '../caching.ts';
import type { Post } from '../services/posts.ts';
import { createRouter } from './router.ts';

/** Entries in the Atom feed. */
export const FEED_SIZE = 20;

/** Escapes text for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

/** A feed entry: the post, its excerpt as plain text, and its body rendered to sanitized HTML. */
export interface FeedEntry {
  post: Post;
  summary: string;
  html: string;
}

/**
 * The Atom document for `items`. Every URL is built from `siteUrl` (configuration), never from
 * the request, so a forged Host header cannot change what a cached feed links to.
 */
export function atomFeed(items: FeedEntry[], siteUrl: string, title = 'Kiln'): string {
  const updated = items.reduce((max, { post }) => Math.max(max, post.updatedAt.getTime()), 0);
  const entries = items.map(({ post, summary, html }) => {
    const url = `${siteUrl}/posts/${post.id}`;
    return [
      '  <entry>',
      `    <id>${escapeXml(url)}</id>`,
      `    <title>${escapeXml(post.title)}</title>`,
      `    <link rel="alternate" type="text/html" href="${escapeXml(url)}"/>`,
      `    <published>${post.createdAt.toISOString()}</published>`,
      `    <updated>${post.updatedAt.toISOString()}</updated>`,
      `    <category term="${escapeXml(post.category)}"/>`,
      `    <summary>${escapeXml(summary)}</summary>`,
      `    <content type="html">${escapeXml(html)}</content>`,
      '  </entry>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${escapeXml(`${siteUrl}/`)}</id>`,
    `  <title>${escapeXml(title)}</title>`,
    `  <updated>${new Date(updated).toISOString()}</updated>`,
    `  <link rel="self" type="application/atom+xml" href="${escapeXml(`${siteUrl}/feed.xml`)}"/>`,
    `  <link rel="alternate" type="text/html" href="${escapeXml(`${siteUrl}/`)}"/>`,
    `  <author><name>${escapeXml(title)}</name></author>`,
    ...entries,
    '</feed>',
    '',
  ].join('\n');
}

/** `GET /feed.xml`: the Atom feed of the 20 latest published posts. */
export function feedHandler(siteUrl: string) {
  return async function feed(ctx: Context): Promise<void> {
    const posts = await ctx.services.posts.feed(FEED_SIZE);
    const items = await Promise.all(
      posts.map(async (post) => ({ post, summary: ctx.services.rendering.excerpt(post), html: await ctx.services.caching.postHtml(post) })),
    );
    ctx.type = 'application/atom+xml; charset=utf-8';
    ctx.body = atomFeed(items, siteUrl);
  };
}

/** The feed route; `cached` puts its handler behind its caching (`BlogCaching.page`), default none. */
export function feedRoutes(options: { siteUrl: string; cached?: CachedRoute }): Router {
  const cached: CachedRoute = options.cached ?? ((_name, handler) => handler);
  const router = createRouter();
  router.get('feed', '/feed.xml', cached('feed', feedHandler(options.siteUrl)));
  return router;
}
