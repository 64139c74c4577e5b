// A deterministic generator of blog posts with the shape of the standard benchmark file
// (make_posts.py beside the shared bench/posts.json): the same (n, seed) always gives the same posts,
// so tests and benchmarks need nothing outside the repository.

/** One post of an import file (`npm run import`). */
export interface GeneratedPost {
  title: string;
  slug: string;
  category: string;
  /** Markdown, 2–6 KB: headings, paragraphs, a bullet list, one fenced code block, links, emphasis. */
  body: string;
  /** ISO 8601 UTC, between 2023-01-01 and 2024-12-31. */
  created_at: string;
  published: boolean;
}

/** The seed of the standard data set. */
export const DEFAULT_SEED = 20240601;

const MIN_BODY = 2048;
const MAX_BODY = 6144;

export const CATEGORIES = ['python', 'javascript', 'databases', 'devops', 'performance', 'security', 'testing', 'architecture'] as const;
type Category = (typeof CATEGORIES)[number];

const WORDS = `cache latency throughput request response server client worker process thread queue buffer
socket handler router template render fragment view session cookie header payload schema index query
table column row join migration transaction commit rollback replica shard partition cluster node deploy
release pipeline build artifact container image registry volume metric trace span log alert dashboard
budget baseline regression benchmark profile flame graph allocation garbage heap stack frame module
package import export function closure callback promise future async await event loop timer signal
channel stream chunk parser lexer token grammar syntax compiler runtime interpreter bytecode optimizer
inline branch predictor memory page disk network packet bandwidth jitter timeout retry backoff circuit
breaker limiter quota tenant user account role permission policy secret key certificate handshake cipher
hash salt token nonce audit fixture mock stub assertion coverage suite runner snapshot property fuzz
layer boundary service gateway proxy adapter facade repository entity value aggregate domain context
contract interface protocol message broker simple careful robust fragile clever boring steady rapid
gradual explicit implicit hidden visible stale fresh warm cold hot lazy eager strict loose`.split(/\s+/);

const TOPICS: Record<Category, string[]> = {
  python: ['Flask', 'Django', 'asyncio', 'type hints', 'packaging', 'generators', 'decorators', 'dataclasses', 'the GIL'],
  javascript: ['Node.js', 'Koa', 'Express', 'TypeScript', 'bundlers', 'promises', 'the event loop', 'ES modules', 'V8'],
  databases: ['SQLite', 'PostgreSQL', 'indexes', 'query plans', 'connection pools', 'migrations', 'WAL mode', 'ORMs'],
  devops: ['containers', 'CI pipelines', 'blue-green deploys', 'systemd', 'reverse proxies', 'log shipping', 'rollbacks'],
  performance: ['caching', 'profiling', 'latency budgets', 'p99 tails', 'load testing', 'memory leaks', 'hot paths'],
  security: ['CSRF tokens', 'session cookies', 'password hashing', 'TLS', 'input validation', 'rate limiting', 'secrets'],
  testing: ['unit tests', 'integration tests', 'fixtures', 'mocks', 'property testing', 'flaky tests', 'coverage'],
  architecture: ['monoliths', 'service boundaries', 'queues', 'event sourcing', 'read models', 'cache invalidation'],
};

const TITLE_PATTERNS = [
  'Notes on {topic}',
  'A Practical Guide to {topic}',
  'What I Learned About {topic}',
  '{topic} in Production',
  'Rethinking {topic}',
  'Five Mistakes with {topic}',
  '{topic}: A Field Report',
  'Getting Started with {topic}',
  'Debugging {topic} the Hard Way',
  'Why {topic} Matters More Than You Think',
];

const LINK_HOSTS = ['https://example.com/docs', 'https://example.org/blog', 'https://docs.example.net/guide', 'https://wiki.example.com/page'];

const CODE: Record<Category, [string, string[]]> = {
  python: ['python', ["from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n    return 'hello'\n", 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n']],
  javascript: ['javascript', ["const Koa = require('koa');\nconst app = new Koa();\n\napp.use(async ctx => {\n  ctx.body = 'hello';\n});\n\napp.listen(3000);\n", 'async function retry(fn, n = 3) {\n  for (let i = 0; i < n; i++) {\n    try { return await fn(); } catch (e) { if (i === n - 1) throw e; }\n  }\n}\n']],
  databases: ['sql', ['SELECT category, COUNT(*) AS n\n  FROM posts\n WHERE published = 1\n GROUP BY category\n ORDER BY category;\n', 'CREATE INDEX idx_posts_created ON posts (created_at DESC);\nEXPLAIN QUERY PLAN SELECT * FROM posts ORDER BY created_at DESC LIMIT 10;\n']],
  devops: ['bash', ['#!/usr/bin/env bash\nset -euo pipefail\ngunicorn -w 2 -b 127.0.0.1:8000 app:app &\necho $! > app.pid\n', 'docker build -t blog:latest .\ndocker run --rm -p 8000:8000 blog:latest\n']],
  performance: ['python', ["import time\n\nstart = time.perf_counter()\nrender_page()\nelapsed = time.perf_counter() - start\nprint(f'{elapsed * 1000:.2f} ms')\n", "@cache.cached(timeout=300, unless=is_logged_in)\ndef index():\n    return render_template('index.html')\n"]],
  security: ['python', ['import hmac, hashlib\n\ndef sign(key: bytes, msg: bytes) -> str:\n    return hmac.new(key, msg, hashlib.sha256).hexdigest()\n', 'if not hmac.compare_digest(expected, provided):\n    abort(403)\n']],
  testing: ['python', ["def test_index_is_cached(client):\n    r1 = client.get('/')\n    r2 = client.get('/')\n    assert r1.data == r2.data\n", "import pytest\n\n@pytest.fixture\ndef app():\n    return create_app({'TESTING': True})\n"]],
  architecture: ['typescript', ['interface Cache {\n  get(key: string): Promise<string | null>;\n  set(key: string, value: string, ttl: number): Promise<void>;\n  del(key: string): Promise<void>;\n}\n', "type Event = { kind: 'created' | 'updated'; id: number; at: string };\nexport function apply(state: Map<number, Event>, e: Event) {\n  state.set(e.id, e);\n}\n"]],
};

/** A small seeded PRNG (mulberry32): the same seed, the same sequence, on every platform. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

const capitalize = (text: string) => text[0].toUpperCase() + text.slice(1);

function sentence(rng: Random, topic: string): string {
  const words = Array.from({ length: rng.int(8, 20) }, () => rng.pick(WORDS));
  const r = rng.next();
  const i = rng.int(0, words.length - 1);
  if (r < 0.2) words[i] = `*${words[i]}*`;
  else if (r < 0.35) words[i] = `**${words[i]}**`;
  else if (r < 0.5) words[i] = `\`${words[i]}\``;
  else if (r < 0.6) words[i] = `[${words[i]}](${rng.pick(LINK_HOSTS)}/${words[i]})`;
  if (rng.next() < 0.3) words.splice(rng.int(0, words.length), 0, topic);
  return capitalize(words.join(' ')) + rng.pick(['.', '.', '.', '?', '!']);
}

function paragraph(rng: Random, topic: string): string {
  return Array.from({ length: rng.int(3, 6) }, () => sentence(rng, topic)).join(' ');
}

function bulletList(rng: Random, topic: string): string {
  return Array.from({ length: rng.int(3, 6) }, () => {
    let text = Array.from({ length: rng.int(3, 9) }, () => rng.pick(WORDS)).join(' ');
    if (rng.next() < 0.3) text = `**${topic}** ${text}`;
    else if (rng.next() < 0.2) text += ` ([details](${rng.pick(LINK_HOSTS)}/${rng.pick(WORDS)}))`;
    return `- ${capitalize(text)}`;
  }).join('\n');
}

function heading(rng: Random, level: number): string {
  return `${'#'.repeat(level)} ${capitalize(Array.from({ length: rng.int(2, 5) }, () => rng.pick(WORDS)).join(' '))}`;
}

function body(rng: Random, category: Category, topic: string): string {
  const target = rng.int(MIN_BODY + 200, MAX_BODY - 400);
  const blocks = [paragraph(rng, topic)];
  let haveList = false;
  let haveCode = false;
  for (let section = 1; ; section++) {
    const size = blocks.join('\n\n').length;
    if (size >= target && haveList && haveCode) break;
    blocks.push(heading(rng, section % 3 ? 2 : 3), paragraph(rng, topic));
    const r = rng.next();
    if (!haveList || r < 0.3) {
      blocks.push(bulletList(rng, topic));
      haveList = true;
    }
    if (!haveCode && (section >= 2 || size > target / 2)) {
      const [lang, snippets] = CODE[category];
      blocks.push(`\`\`\`${lang}\n${rng.pick(snippets)}\`\`\``);
      haveCode = true;
    }
    if (rng.next() < 0.5) blocks.push(paragraph(rng, topic));
  }
  blocks.push(`Further reading: *${topic}* in [the ${category} notes](${rng.pick(LINK_HOSTS)}/${slugOf(topic)}).`);
  const text = () => `${blocks.join('\n\n')}\n`;
  // Keep within 2–6 KB: drop plain paragraphs from the end, or add some before the last line.
  while (Buffer.byteLength(text()) > MAX_BODY) {
    const j = blocks.findLastIndex((b, k) => k > 0 && k < blocks.length - 1 && !/^(```|- |#)/.test(b));
    if (j < 0) break;
    blocks.splice(j, 1);
  }
  while (Buffer.byteLength(text()) < MIN_BODY) blocks.splice(blocks.length - 1, 0, paragraph(rng, topic));
  return text();
}

function slugOf(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'post';
}

/**
 * `n` posts, oldest first (imported in order, id 1 is the oldest), spread over 2023–2024, in 8
 * categories, each with a unique slug (a repeated title gets `-2`, `-3`, …), all published.
 *
 * @example
 * writeFileSync('posts.json', JSON.stringify(generatePosts(300, DEFAULT_SEED)));
 */
export function generatePosts(n: number, seed = DEFAULT_SEED): GeneratedPost[] {
  const rng = new Random(seed);
  const start = Date.UTC(2023, 0, 1) / 1000;
  const step = Math.floor((Date.UTC(2025, 0, 1) / 1000 - start) / Math.max(1, n));
  const drafts = Array.from({ length: n }, (_, i) => {
    const category = rng.pick(CATEGORIES);
    const topic = rng.pick(TOPICS[category]);
    const title = capitalize(rng.pick(TITLE_PATTERNS).replace('{topic}', topic));
    const created = start + i * step + rng.int(0, step - 1);
    return { title, category, topic, created_at: new Date(created * 1000).toISOString().replace('.000Z', 'Z') };
  });
  drafts.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  const seen = new Map<string, number>();
  return drafts.map((d) => {
    const base = slugOf(d.title);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return {
      title: d.title,
      slug: count === 1 ? base : `${base}-${count}`,
      category: d.category,
      body: body(rng, d.category, d.topic),
      created_at: d.created_at,
      published: true,
    };
  });
}
