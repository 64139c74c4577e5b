import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../../src/blog/password.ts';
import { AUTHOR, TEST_PASSWORDS, loginForm, postLogin, setCookies, startTestApp, type TestApp } from '../../support/app.ts';
import { SHARED_REDIS_URL, requireRedis } from '../../support/services.ts';

const redisUp = await requireRedis();

/** The test hasher, counting how many passwords it was asked to check. */
class CountingHasher extends PasswordHasher {
  checked = 0;
  constructor() {
    super(TEST_PASSWORDS.params);
  }
  override verify(password: string, stored: string): Promise<boolean> {
    this.checked += 1;
    return super.verify(password, stored);
  }
}

/**
 * Sends 100 login attempts from one client at once, each with its own login form: wrong
 * passwords, but the right one at number 90. Returns the statuses and what the hasher checked.
 */
async function hundredAtOnce(app: TestApp, hasher: CountingHasher) {
  const forms = [];
  for (let i = 0; i < 100; i++) forms.push(await loginForm(app));
  const before = hasher.checked;
  const replies = await Promise.all(
    forms.map((form, i) => postLogin(app, form, i === 89 ? AUTHOR : { username: AUTHOR.username, password: `wrong ${i}` })),
  );
  const count = (status: number) => replies.filter((r) => r.status === status).length;
  return {
    evaluated: hasher.checked - before,
    unauthorized: count(401),
    signedIn: count(303),
    throttled: replies.filter((r) => r.status === 429 && Number(r.headers['retry-after']) > 0).length,
    sessions: replies.filter((r) => setCookies(r).has('kiln.sid')).length,
  };
}

describe('the login throttle under parallel guesses', () => {
  it('evaluates at most 10 of 100 attempts sent at once and signs nobody in, even with the right password at #90', async () => {
    const hasher = new CountingHasher();
    const app = await startTestApp({ passwords: hasher });
    try {
      const result = await hundredAtOnce(app, hasher);
      expect(result.evaluated).toBeLessThanOrEqual(10);
      expect(result.unauthorized).toBeLessThanOrEqual(10);
      expect(result).toMatchObject({ signedIn: 0, sessions: 0 });
      expect(result.unauthorized + result.throttled).toBe(100);
    } finally {
      await app.close();
    }
  });

  it.skipIf(!redisUp)('does the same when it counts in Redis (SESSION_STORE=redis)', async () => {
    const prefix = `kiln-test:throttle:${randomBytes(6).toString('hex')}:`;
    const hasher = new CountingHasher();
    const app = await startTestApp({ passwords: hasher, env: { SESSION_STORE: 'redis', SESSION_REDIS_URL: SHARED_REDIS_URL, SESSION_REDIS_PREFIX: prefix } });
    const direct = new Redis(SHARED_REDIS_URL);
    try {
      const result = await hundredAtOnce(app, hasher);
      expect(result.evaluated).toBeLessThanOrEqual(10);
      expect(result).toMatchObject({ signedIn: 0, sessions: 0 });
      expect(result.unauthorized + result.throttled).toBe(100);
      expect(await direct.keys(`${prefix}login-attempts:*`)).toEqual([`${prefix}login-attempts:127.0.0.1`]);
    } finally {
      await app.close();
      const keys = await direct.keys(`${prefix}*`);
      if (keys.length > 0) await direct.del(...keys);
      await direct.quit();
    }
  });

  it('starts the count afresh after a successful login', async () => {
    const app = await startTestApp();
    try {
      const wrong = { username: AUTHOR.username, password: 'wrong' };
      for (let i = 0; i < 9; i++) await postLogin(app, await loginForm(app), wrong).expect(401);
      await postLogin(app, await loginForm(app), AUTHOR).expect(303);
      for (let i = 0; i < 10; i++) await postLogin(app, await loginForm(app), wrong).expect(401);
      const refused = await postLogin(app, await loginForm(app), wrong).expect(429);
      expect(Number(refused.headers['retry-after'])).toBe(15 * 60);
    } finally {
      await app.close();
    }
  });
});
