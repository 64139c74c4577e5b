/**
 * Passwords and password stems that lead every published list of leaked passwords, lower-cased
 * with spaces removed. A new password is refused when it, or it with leading and trailing digits
 * and punctuation taken off ("Password2024!" → "password"), is one of them. Guessers try these
 * first, whatever their length.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  'password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'pass', 'passwort', 'motdepasse', 'contraseña',
  'qwerty', 'qwertyuiop', 'qwertyui', 'qwertz', 'azerty', 'asdfgh', 'asdfghjkl', 'zxcvbn', 'zxcvbnm',
  'qazwsx', 'qazwsxedc', '1qaz2wsx', '1q2w3e4r', '1q2w3e4r5t', 'q1w2e3r4', 'abcdef', 'abcdefgh',
  'abcdefghijkl', 'abc123', 'a1b2c3', 'aa123456', 'letmein', 'welcome', 'welcome1', 'admin',
  'administrator', 'root', 'toor', 'login', 'master', 'secret', 'changeme', 'default', 'guest',
  'test', 'tester', 'testing', 'demo', 'user', 'author', 'blog', 'kiln', 'iloveyou', 'loveyou',
  'trustno1', 'monkey', 'dragon', 'football', 'baseball', 'soccer', 'hockey', 'basketball',
  'superman', 'batman', 'spiderman', 'pokemon', 'starwars', 'sunshine', 'princess', 'shadow',
  'michael', 'jennifer', 'jordan', 'hunter', 'ashley', 'charlie', 'thomas', 'daniel', 'jessica',
  'freedom', 'whatever', 'computer', 'internet', 'access', 'mustang', 'killer', 'cheese', 'summer',
  'winter', 'spring', 'autumn', 'flower', 'chocolate', 'cookie', 'butterfly', 'purple', 'orange',
  'liverpool', 'chelsea', 'arsenal', 'samsung', 'google', 'facebook', 'linkedin', 'apple',
  'matrix', 'ninja', 'solo', 'lovely', 'hello', 'helloworld', 'hello123', 'goodluck', 'blessed',
  'maggie', 'ginger', 'pepper', 'buster', 'tigger', 'snoopy', 'peanut', 'banana', 'zaq12wsx',
  'correcthorsebatterystaple', 'iloveyou123', 'password1234', 'qwerty123456', 'abc123456789',
  '123456789abc', 'aaaaaaaaaaaa', 'onetwothreefour',
]);
