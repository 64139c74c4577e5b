import { COMMON_PASSWORDS } from './common-passwords.ts';

/** Bounds of a new password, in characters (code points). The login form accepts at most the maximum. */
export const PASSWORD_LENGTH = { min: 12, max: 200 } as const;

/** Fewest different characters a new password must use ("abababababab1" has three). */
const MIN_DISTINCT = 5;

// Lower-case letters, upper-case letters, digits, and everything else (spaces, punctuation,
// symbols, letters without case): a password must mix at least two.
const CLASSES: readonly RegExp[] = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u];

/** One sentence stating the rule, for forms and the command line. */
export const PASSWORD_RULE =
  `At least ${PASSWORD_LENGTH.min} characters (a few words with spaces make a good one), mixing at least two of: ` +
  'lower-case letters, capitals, digits, other characters; not your username and not a well-known password.';

/**
 * What is wrong with `password` as the new password of `username`, or undefined when it passes
 * the floor: {@link PASSWORD_LENGTH} characters, at least two character classes and
 * {@link MIN_DISTINCT} different characters, not containing the username, and not a common
 * password or a common password with digits or punctuation around it.
 */
export function passwordProblem(password: string, username: string): string | undefined {
  const characters = Array.from(password);
  if (characters.length < PASSWORD_LENGTH.min) return `It must be at least ${PASSWORD_LENGTH.min} characters long; a few words with spaces between them are easy to remember.`;
  if (characters.length > PASSWORD_LENGTH.max) return `It must be at most ${PASSWORD_LENGTH.max} characters long.`;
  if (CLASSES.filter((kind) => kind.test(password)).length < 2) {
    return 'It must mix at least two kinds of characters: lower-case letters, capitals, digits, or others such as spaces.';
  }
  if (new Set(characters).size < MIN_DISTINCT) return `It must use at least ${MIN_DISTINCT} different characters.`;
  const folded = password.normalize('NFKC').toLowerCase();
  const name = username.normalize('NFKC').toLowerCase();
  if (name.length >= 3 && folded.replace(/\s+/gu, '').includes(name.replace(/\s+/gu, ''))) return 'It must not contain your username.';
  const compact = folded.replace(/\s+/gu, '');
  const stem = compact.replace(/^[\p{Nd}\p{P}\p{S}]+|[\p{Nd}\p{P}\p{S}]+$/gu, '');
  if (COMMON_PASSWORDS.has(compact) || COMMON_PASSWORDS.has(stem)) return 'It is one of the most common passwords, which guessers try first.';
  return undefined;
}
