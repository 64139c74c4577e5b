import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_ATTEMPTS_KEY_INFIX } from '../../src/blog/services/session-stores.ts';
import { AUTHOR, csrfFrom } from '../support/app.ts';
import { startKilnFleet, type KilnFleet } from '../support/kiln-fleet.ts';
import { startKilnProcess, twoWorkerEnv, type KilnProcess } from '../support/kiln-process.ts';
import { SHARED_REDIS_URL, requireRedis } from '../support/services.ts';

// Real servers hash with the real scrypt (N=2^17): every password they evaluate costs 0.3–2 s
// here, so the limit also keeps these tests short.

const redisUp = await requireRedis();

/** One request from the local address `from`, on a connection of its own (the cluster deals connections out in turn). */
function send(base: string, from: string, method: string, path: string, options: { cookie?: string; form?: Record<string, string> } = {}) {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  const headers: Record<string, string | number> = options.cookie ? { Cookie: options.cookie } : {};
  if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) });
  return new Promise<{ status: number; text: string; cookies: string[]; retryAfter?: string }>((resolve, reject) => {
    const req = request(new URL(path, base), { method, localAddress: from, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text,
          cookies: (res.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]),
          retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A fetched login form: posting it later is one attempt. */
async function loginForm(base: string, from: string): Promise<(password: string) => ReturnType<typeof send>> {
  const form = await send(base, from, 'GET', '/login');
  const cookie = form.cookies.join('; ');
  const csrf = csrfFrom(form.text);
  return (password) => send(base, from, 'POST', '/login', { cookie, form: { _csrf: csrf, username: AUTHOR.username, password } });
}

/**
 * Eleven attempts one after another from `from`, the i-th sent to `bases[i % n]`, each on a new
 * connection so that the workers of one server take turns; resolves the statuses. The forms are
 * fetched first, or every GET would go to one worker and every POST to the other. An empty
 * password is refused without hashing but counted like any other attempt, which keeps this quick.
 */
async function elevenInTurn(bases: readonly string[], from: string): Promise<number[]> {
  const forms = [];
  for (let i = 0; i < 11; i++) forms.push(await loginForm(bases[i % bases.length], from));
  const statuses: number[] = [];
  for (const post of forms) statuses.push((await post('')).status);
  return statuses;
}

/** 100 attempts at once from `from` spread over `bases`, the right password at #90; counts the answers. */
async function hundredAtOnce(bases: readonly string[], from: string) {
  const forms = await Promise.all(Array.from({ length: 100 }, (_, i) => loginForm(bases[i % bases.length], from)));
  const replies = await Promise.all(forms.map((post, i) => post(i === 89 ? AUTHOR.password : `wrong ${i}`)));
  const count = (status: number) => replies.filter((r) => r.status === status).length;
  return {
    unauthorized: count(401),
    signedIn: count(303),
    throttled: replies.filter((r) => r.status === 429 && Number(r.retryAfter) > 0).length,
  };
}

const LISTENING = /Kiln worker (\d+) listening on (http:\/\/[\d.]+:\d+)/;

describe('the login throttle with KILN_WORKERS=2 (one SQLite file, counted in its login_attempt table)', () => {
  let dir: string;
  let kiln: KilnProcess;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-throttle-workers-'));
    kiln = startKilnProcess(
      twoWorkerEnv(dir, {
        SEED_DEMO: '0',
        SESSION_STORE: 'database',
      }),
    );
    const first = await kiln.waitForLine(LISTENING, { timeoutMs: 60_000 });
    const second = await kiln.waitForLine(LISTENING, { after: first.index, timeoutMs: 60_000 });
    base = second.match[2];
  }, 90_000);
  afterAll(async () => {
    await kiln.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the 11th attempt in a row although the workers took turns', async () => {
    expect(await elevenInTurn([base], '127.0.0.2')).toEqual([...Array<number>(10).fill(401), 429]);
  }, 120_000);

  it('evaluates at most 10 of 100 attempts sent at once and signs nobody in, with the right password at #90', async () => {
    const result = await hundredAtOnce([base], '127.0.0.3');
    expect(result.unauthorized).toBeLessThanOrEqual(10);
    expect(result.signedIn).toBe(0);
    expect(result.unauthorized + result.throttled).toBe(100);
  }, 120_000);
});

describe.skipIf(!redisUp)('the login throttle on two Kiln processes sharing one Redis (SESSION_STORE=redis)', () => {
  const prefix = `kiln-test:throttle-fleet:${randomBytes(6).toString('hex')}:`;
  let fleet: KilnFleet;
  let bases: string[];
  beforeAll(async () => {
    fleet = await startKilnFleet(2, {
      CACHE_TYPE: 'null',
      CACHE_NO_NULL_WARNING: '1',
      SESSION_STORE: 'redis',
      SESSION_REDIS_URL: SHARED_REDIS_URL,
      SESSION_REDIS_PREFIX: prefix,
    });
    bases = fleet.nodes.map((node) => node.url);
  }, 90_000);
  afterAll(async () => {
    await fleet.stop();
    const direct = new Redis(SHARED_REDIS_URL);
    const keys = await direct.keys(`${prefix}*`);
    if (keys.length > 0) await direct.del(...keys);
    await direct.quit();
  });

  it('refuses the 11th attempt in a row although the two processes took turns, counting in Redis', async () => {
    expect(await elevenInTurn(bases, '127.0.0.2')).toEqual([...Array<number>(10).fill(401), 429]);
    const direct = new Redis(SHARED_REDIS_URL);
    try {
      expect(await direct.hget(`${prefix}${LOGIN_ATTEMPTS_KEY_INFIX}127.0.0.2`, 'n')).toBe('11');
    } finally {
      await direct.quit();
    }
  }, 120_000);

  it('evaluates at most 10 of 100 attempts sent at once to both and signs nobody in, with the right password at #90', async () => {
    const result = await hundredAtOnce(bases, '127.0.0.3');
    expect(result.unauthorized).toBeLessThanOrEqual(10);
    expect(result.signedIn).toBe(0);
    expect(result.unauthorized + result.throttled).toBe(100);
  }, 120_000);
});
