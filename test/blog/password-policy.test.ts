import { describe, expect, it } from 'vitest';
import { passwordProblem } from '../../src/blog/password-policy.ts';

describe('passwordProblem()', () => {
  it.each([
    ['a passphrase of lower-case words and spaces', 'tulip anvil orbit seven'],
    ['letters and digits', 'kiwi7orbit42z'],
    ['capitals and lower case', 'BlueWhaleSinging'],
    ['non-ASCII letters and spaces', 'éléphant rose à vélo'],
    ['exactly 12 characters, two classes', 'abcdefghijk1'],
    ['200 characters', `${'a b c d e '.repeat(20)}`],
  ])('accepts %s', (_what, password) => {
    expect(passwordProblem(password, 'author')).toBeUndefined();
  });

  it.each([
    ['11 characters', 'abcdefghij1', /at least 12 characters/],
    ['11 code points of 22 UTF-16 units', '🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉a', /at least 12 characters/],
    ['201 characters', `${'a1'.repeat(100)}b`, /at most 200/],
    ['one class: lower case', 'onlylowercaseletters', /two kinds/],
    ['one class: digits', '123456789012345', /two kinds/],
    ['one class: capitals', 'ALLCAPITALSHERE', /two kinds/],
    ['four different characters', 'abababababab1212', /5 different/],
    ['the username', 'Author 12345678', /username/],
    ['the username inside, any case, spaces aside', 'my AUTH OR pass 99', /username/],
    ['a common password', 'Password1234', /common/],
    ['a common password with punctuation around it', '!!Qwertyuiop2024!!', /common/],
    ['a common passphrase, spaces aside', 'Correct Horse Battery Staple', /common/],
  ])('refuses %s', (_what, password, reason) => {
    expect(passwordProblem(password, 'author')).toMatch(reason);
  });

  it('ignores usernames shorter than three characters inside a password', () => {
    expect(passwordProblem('abc jumps over 42', 'ab')).toBeUndefined();
  });
});
