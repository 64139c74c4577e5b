import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/blog/db.ts';
import { UserService } from '../../../src/blog/services/users.ts';
import { TEST_PASSWORDS } from '../../support/app.ts';
import { compiled } from '../../support/build.ts';
import { killOnExit } from '../../support/children.ts';
import { REPO_ROOT } from '../../support/server-process.ts';

const OLD_PASSWORD = 'old and forgotten 1';
const NEW_PASSWORD = 'seven quiet rivers 2';

let dir: string;
let env: Record<string, string>;

/** What one run of the command did. */
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real command with `args`, `input` piped to its standard input. */
function run(args: readonly string[], input: string): Promise<Run> {
  const child = spawn(process.execPath, [compiled('src/blog/cli/user-password.ts'), ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child, (running) => running.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Runs the command on a terminal of its own (util-linux `script` gives it a pseudo-terminal),
 * answering each prompt with the next of `answers` as a person would, and returns everything
 * the terminal showed.
 */
function runAtTerminal(answers: readonly string[]): Promise<Run> {
  const command = `${process.execPath} ${compiled('src/blog/cli/user-password.ts')} author`;
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child, (running) => running.kill('SIGKILL'));
  const pending = [...answers];
  let screen = '';
  let prompts = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    // A prompt ends in ": " with nothing after it yet; each one gets the next answer and Enter.
    const seen = (screen.match(/(New password for "author"|The same again): /g) ?? []).length;
    while (prompts < seen && pending.length > 0) {
      prompts += 1;
      child.stdin.write(`${pending.shift()}\r`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout: screen, stderr: '' })));
}

async function users<T>(use: (users: UserService) => Promise<T>): Promise<T> {
  const ds = await openDatabase(env.DATABASE_URL);
  try {
    return await use(new UserService(ds, { hasher: TEST_PASSWORDS }));
  } finally {
    await ds.destroy();
  }
}

const signsIn = (password: string) => users(async (u) => (await u.verify('author', password)) !== null);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-user-password-'));
  env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, 'kiln.sqlite')}` };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  // Every test starts from the old password (set directly, with the cheap test hasher).
  await users(async (u) => {
    if (!(await u.createIfMissing('author', OLD_PASSWORD))) {
      await u.resetPassword('author', OLD_PASSWORD);
    }
  });
});

describe('npm run user:password -- USERNAME', () => {
  it('sets the password read from piped standard input and ends every session of the user', async () => {
    const before = await users(async (u) => {
      const id = (await u.verify('author', OLD_PASSWORD))?.id ?? 0;
      return { id, stamp: (await u.sessionStamp(id)) ?? '' };
    });
    const result = await run(['author'], `${NEW_PASSWORD}\n`);
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: 'changed the password of "author"; every session of theirs has ended\n' });
    expect(await signsIn(NEW_PASSWORD)).toBe(true);
    expect(await signsIn(OLD_PASSWORD)).toBe(false);
    expect(await users((u) => u.forSession(before.id, before.stamp))).toBeNull();
  }, 60_000);

  it('refuses a password below the floor, an empty input, an unknown user and a password on the command line, changing nothing', async () => {
    const weak = await run(['author'], 'password1234\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toBe('user:password: It is one of the most common passwords, which guessers try first. Nothing changed.\n');
    const empty = await run(['author'], '');
    expect(empty).toMatchObject({ code: 1, stderr: expect.stringContaining('no password on standard input') });
    const unknown = await run(['nobody'], `${NEW_PASSWORD}\n`);
    expect(unknown).toMatchObject({ code: 1, stderr: 'user:password: there is no user "nobody" (users: author)\n' });
    const onArgv = await run(['author', NEW_PASSWORD], '');
    expect(onArgv).toMatchObject({ code: 1, stderr: expect.stringContaining('never from the command line') });
    const noName = await run([], `${NEW_PASSWORD}\n`);
    expect(noName).toMatchObject({ code: 1, stderr: expect.stringContaining('usage: npm run user:password -- USERNAME') });
    expect(await signsIn(OLD_PASSWORD)).toBe(true);
  }, 60_000);

  it('at a terminal, asks twice without echoing, and asks again when the two differ', async () => {
    const result = await runAtTerminal(['a first attempt 123', 'a different one 456', NEW_PASSWORD, NEW_PASSWORD]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('The two passwords differ. Try again.');
    expect(result.stdout.match(/New password for "author": /g)).toHaveLength(2);
    expect(result.stdout.match(/The same again: /g)).toHaveLength(2);
    expect(result.stdout).toContain('changed the password of "author"');
    for (const typed of ['a first attempt', 'a different one', NEW_PASSWORD]) expect(result.stdout).not.toContain(typed);
    expect(await signsIn(NEW_PASSWORD)).toBe(true);
  }, 60_000);
});
