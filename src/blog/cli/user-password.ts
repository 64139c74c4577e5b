import { ConfigError, loadConfig } from '../../config.ts';
import { openDatabase } from '../db.ts';
import { PASSWORD_RULE, passwordProblem } from '../password-policy.ts';
import { UserService } from '../services/users.ts';
import { InputAborted, SecretTerminal, readPipedLine } from './secret-input.ts';

const USAGE =
  'usage: npm run user:password -- USERNAME   (the new password is read from the terminal, twice, or from standard input when piped; never from the command line)';
/** Tries a person gets at the terminal before the command gives up. */
const TERMINAL_TRIES = 3;

/** A failure the command reports as one plain line (no stack), then exits 1. */
class Refused extends Error {}

/**
 * `npm run user:password -- USERNAME`: sets a user's password without the old one, for an author
 * locked out (or a development password lost). Reads the new password without echo from the
 * terminal, twice, or as the first line of standard input when it is piped; never from the
 * arguments, which other users of the machine can read. The password must pass the same floor
 * as the author's page (src/blog/password-policy.ts). Every session of the user ends.
 */
async function main(args: string[]): Promise<void> {
  if (args.length !== 1 || args[0].startsWith('-') || args[0].trim() === '') throw new Refused(USAGE);
  const username = args[0];
  const config = loadConfig();
  const dataSource = await openDatabase(config.databaseUrl);
  try {
    const users = new UserService(dataSource);
    const known = await users.usernames();
    if (!known.includes(username)) {
      throw new Refused(
        known.length === 0
          ? `there is no user "${username}", nor any other: start the server once with AUTHOR_USERNAME and AUTHOR_PASSWORD to create the account`
          : `there is no user "${username}" (users: ${known.join(', ')})`,
      );
    }
    const password = process.stdin.isTTY ? await askAtTerminal(username) : await readPiped(username);
    const result = await users.resetPassword(username, password);
    if (!result.ok) throw new Refused(result.message);
    process.stdout.write(`changed the password of "${username}"; every session of theirs has ended\n`);
  } finally {
    await dataSource.destroy();
  }
}

async function readPiped(username: string): Promise<string> {
  const password = await readPipedLine(process.stdin);
  if (password === '') throw new Refused('no password on standard input (its first line is the new password)');
  const problem = passwordProblem(password, username);
  if (problem !== undefined) throw new Refused(`${problem} Nothing changed.`);
  return password;
}

async function askAtTerminal(username: string): Promise<string> {
  const terminal = new SecretTerminal(process.stdin, process.stderr);
  try {
    process.stderr.write(`${PASSWORD_RULE}\n`);
    for (let attempt = 1; ; attempt++) {
      const password = await terminal.ask(`New password for "${username}": `);
      const problem = passwordProblem(password, username);
      const mismatch = problem === undefined && (await terminal.ask('The same again: ')) !== password;
      if (problem === undefined && !mismatch) return password;
      const why = problem ?? 'The two passwords differ.';
      if (attempt >= TERMINAL_TRIES) throw new Refused(`${why} Nothing changed.`);
      process.stderr.write(`${why} Try again.\n`);
    }
  } catch (error) {
    if (error instanceof InputAborted) throw new Refused('nothing changed');
    throw error;
  } finally {
    terminal.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const line =
    error instanceof Refused
      ? error.message
      : error instanceof ConfigError
        ? `bad configuration: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error);
  process.stderr.write(`user:password: ${line}\n`);
  process.exitCode = 1;
});
