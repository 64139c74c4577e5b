import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTHOR, csrfFrom } from './support/app.ts';
import { startKilnProcess, twoWorkerEnv, type KilnProcess } from './support/kiln-process.ts';
import { expectStartRefused, startServerProcess } from './support/server-process.ts';
import { SHARED_REDIS_URL, requireRedis } from './support/services.ts';

const redisUp = await requireRedis();

interface Reply {
  status: number;
  location?: string;
  cookies: string[];
  body: string;
}

/**
 * One request on a connection of its own (no keep-alive), so the cluster hands each request to
 * the next worker in turn rather than to the one that served the last.
 */
function send(base: string, method: string, path: string, options: { cookie?: string; form?: Record<string, string> } = {}): Promise<Reply> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      {
        method,
        agent: false,
        headers: {
          ...(options.cookie ? { Cookie: options.cookie } : {}),
          ...(body === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            cookies: (res.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]),
            body: text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Statuses of `n` requests made one after another, each on a new connection. */
async function statuses(base: string, path: string, n: number, cookie?: string): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < n; i++) seen.push((await send(base, 'GET', path, { cookie })).status);
  return seen;
}

/** Logs in through the real form; returns the session cookie and the author pages' CSRF token. */
async function login(base: string): Promise<{ cookie: string; csrf: string }> {
  const form = await send(base, 'GET', '/login');
  const res = await send(base, 'POST', '/login', {
    cookie: form.cookies.join('; '),
    form: { _csrf: csrfFrom(form.body), username: AUTHOR.username, password: AUTHOR.password },
  });
  expect(res.status).toBe(303);
  const cookie = res.cookies.find((c) => c.startsWith('kiln.sid='));
  if (cookie === undefined) throw new Error('login set no session cookie');
  const admin = await send(base, 'GET', '/admin', { cookie });
  expect(admin.status).toBe(200);
  return { cookie, csrf: csrfFrom(admin.body) };
}

const LISTENING = /Kiln worker (\d+) listening on (http:\/\/[\d.]+:\d+)/;

/** A port held by another server on 127.0.0.1, until `server.close()`. */
async function takePort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

/** A server's output line as its level and message: a JSON line (production) or `time level message`; other lines as they are. */
function message(line: string): { level: string; msg: string } {
  if (line.startsWith('{')) {
    const parsed = JSON.parse(line) as { level: string; msg: string };
    return { level: parsed.level, msg: parsed.msg };
  }
  const match = /^\S+ (debug|info|warn|error) (.*)$/.exec(line);
  return match === null ? { level: '', msg: line } : { level: match[1], msg: match[2] };
}

/** The warnings and errors among a server's output lines, without their timestamp and level; a stack trace shows as its lines. */
function problems(lines: readonly string[]): string[] {
  return lines
    .filter((line) => line.trim() !== '')
    .map(message)
    .filter(({ level, msg }) => level === 'warn' || level === 'error' || /^\s+at /.test(msg))
    .map(({ msg }) => msg);
}

/** The messages of a server's output, in order. */
function messages(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '').map((line) => message(line).msg);
}

describe('KILN_WORKERS=2 (node:cluster, a real server process)', () => {
  let dir: string;
  let kiln: KilnProcess | undefined;
  afterEach(async () => {
    await kiln?.stop();
    kiln = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts Kiln with two workers on a fresh SQLite file. */
  function startKiln(env: Record<string, string> = {}): KilnProcess {
    dir = mkdtempSync(join(tmpdir(), 'kiln-workers-'));
    kiln = startKilnProcess(
      twoWorkerEnv(dir, {
        SESSION_STORE: 'database',
        ...env,
      }),
    );
    return kiln;
  }

  /** Starts Kiln with two workers; resolves with the workers' pids and the shared address. */
  async function startTwoWorkers(env: Record<string, string> = {}): Promise<{ pids: number[]; base: string }> {
    const kiln = startKiln(env);
    const first = await kiln.waitForLine(LISTENING);
    const second = await kiln.waitForLine(LISTENING, { after: first.index });
    const pids = [Number(first.match[1]), Number(second.match[1])];
    // One port for all workers: the primary owns the listening socket.
    expect(second.match[2]).toBe(first.match[2]);
    return { pids, base: first.match[2] };
  }

  /** SIGKILLs a worker as a crash would and resolves with its replacement's pid. */
  async function crash(pid: number): Promise<number> {
    if (kiln === undefined) throw new Error('not started');
    const before = kiln.lines.length - 1;
    process.kill(pid, 'SIGKILL');
    await kiln.waitForLine(new RegExp(`worker ${pid} exited \\(signal SIGKILL\\).*restarting it in \\d+ ms`), { after: before });
    const next = await kiln.waitForLine(LISTENING, { after: before });
    return Number(next.match[1]);
  }

  /**
   * The author signs in, then both workers that might have seen it are killed: their
   * replacements, which never saw the login, still know the author; a logout through them
   * revokes the cookie in every worker.
   */
  async function sessionOutlivesItsWorkers(pids: number[], base: string): Promise<void> {
    const { cookie, csrf } = await login(base);
    const third = await crash(pids[0]);
    // While one worker is down, the other answers every request.
    expect(await statuses(base, '/', 4)).toEqual([200, 200, 200, 200]);
    const fourth = await crash(pids[1]);
    expect(new Set([...pids, third, fourth]).size).toBe(4);
    expect(await statuses(base, '/admin', 4, cookie)).toEqual([200, 200, 200, 200]);
    const out = await send(base, 'POST', '/logout', { cookie, form: { _csrf: csrf } });
    expect(out.status).toBe(303);
    expect(await statuses(base, '/admin', 4, cookie)).toEqual([303, 303, 303, 303]);
  }

  it('runs two workers on one port after migrating once in the primary, and restarts a worker that dies', async () => {
    const { pids, base } = await startTwoWorkers();
    const primary = kiln?.pid;
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(primary);
    expect(kiln?.lines.filter((l) => l.includes('Added 12 demo posts'))).toHaveLength(1);
    expect(kiln?.lines.filter((l) => l.includes('Created the author account'))).toHaveLength(1);
    expect(await statuses(base, '/', 4)).toEqual([200, 200, 200, 200]);
    await sessionOutlivesItsWorkers(pids, base);
    // SIGTERM to the primary stops the workers and exits cleanly.
    expect(await kiln?.stop()).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 90_000);

  // Connections go to the workers in turn (the primary's round robin), so four requests in a row
  // reach both: each must know the author, and after the logout neither may.
  it.skipIf(!redisUp)('shares sessions through Redis (SESSION_STORE=redis): every worker knows the author, a logout revokes in all', async () => {
    const prefix = `kiln-test:workers:${randomBytes(6).toString('hex')}:`;
    const { base } = await startTwoWorkers({ SESSION_STORE: 'redis', SESSION_REDIS_URL: SHARED_REDIS_URL, SESSION_REDIS_PREFIX: prefix });
    const direct = new Redis(SHARED_REDIS_URL);
    try {
      const { cookie, csrf } = await login(base);
      expect(await direct.keys(`${prefix}*`)).toHaveLength(1);
      expect(await statuses(base, '/admin', 4, cookie)).toEqual([200, 200, 200, 200]);
      expect((await send(base, 'POST', '/logout', { cookie, form: { _csrf: csrf } })).status).toBe(303);
      expect(await direct.keys(`${prefix}*`)).toEqual([]);
      expect(await statuses(base, '/admin', 4, cookie)).toEqual([303, 303, 303, 303]);
    } finally {
      const left = await direct.keys(`${prefix}*`);
      if (left.length > 0) await direct.del(...left);
      await direct.quit();
    }
  }, 90_000);

  it('stops with exit code 1 and one line when the port is in use, instead of starting workers that cannot listen', async () => {
    const taken = await takePort();
    try {
      const started = startKiln({ PORT: String(taken.port) });
      expect(await started.exited()).toEqual({ code: 1, signal: null });
      expect(problems(started.lines)).toEqual([`Port ${taken.port} is already in use (set PORT to another)`]);
      expect(started.lines.some((l) => l.includes('starting 2 workers'))).toBe(false);
    } finally {
      taken.server.close();
    }
  }, 60_000);
});

describe('start-up checks (a real server process)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const production = () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-startup-'));
    return { NODE_ENV: 'production', SESSION_SECRET: 'a-session-secret-for-start-up-tests', DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}`, CACHE_TYPE: 'memory' };
  };

  it('refuses production without an author account, naming the variables in one line (exit 1)', async () => {
    const env = production();
    const { code, output } = await expectStartRefused(env, 60_000);
    expect(code).toBe(1);
    expect(problems(output.trim().split('\n'))).toEqual([
      'No author account: set AUTHOR_USERNAME and AUTHOR_PASSWORD to create one at start (production never starts without one)',
    ]);
    expect(output).not.toContain('demo posts');
  }, 90_000);

  it('starts production with the account given, without demo posts unless SEED_DEMO=1, then without the variables', async () => {
    const env = production();
    const first = await startServerProcess({ env: { ...env, AUTHOR_USERNAME: AUTHOR.username, AUTHOR_PASSWORD: AUTHOR.password }, readyTimeoutMs: 60_000 });
    try {
      // Production writes JSON lines.
      expect(first.output.split('\n').filter((l) => /^\{"time":"[^"]+","level":"info","worker":0,"msg":"Kiln listening on /.test(l))).toHaveLength(1);
      expect(messages(first.output)).toContain('Created the author account "author"');
      expect(first.output).not.toContain('demo posts');
      const index = await (await fetch(`${first.url}/`)).text();
      expect(index).not.toContain('Why a cache needs an invalidation plan');
    } finally {
      await first.stop();
    }
    // The account now exists: the variables are no longer needed.
    const second = await startServerProcess({ env, readyTimeoutMs: 60_000 });
    await second.stop();
    expect(problems(second.output.split('\n'))).toEqual([]);
  }, 120_000);

  it('says in one line that the port is in use, with one process (exit 1)', async () => {
    const taken = await takePort();
    try {
      const env = { ...production(), AUTHOR_USERNAME: AUTHOR.username, AUTHOR_PASSWORD: AUTHOR.password, KILN_WORKERS: '1', PORT: String(taken.port) };
      const { code, output } = await expectStartRefused(env, 60_000);
      expect(code).toBe(1);
      expect(problems(output.trim().split('\n'))).toEqual([`Port ${taken.port} is already in use (set PORT to another)`]);
    } finally {
      taken.server.close();
    }
  }, 90_000);
});
