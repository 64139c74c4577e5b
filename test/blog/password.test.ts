import { describe, expect, it } from 'vitest';
import { PasswordHasher, SCRYPT_PARAMS } from '../../src/blog/password.ts';

const cheap = new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 });

describe('SCRYPT_PARAMS', () => {
  it("are at least OWASP's scrypt recommendation: N=2^17, r=8, p=1", () => {
    expect(SCRYPT_PARAMS.N).toBeGreaterThanOrEqual(2 ** 17);
    expect(SCRYPT_PARAMS.r).toBeGreaterThanOrEqual(8);
    expect(SCRYPT_PARAMS.p).toBeGreaterThanOrEqual(1);
  });
});

describe('PasswordHasher.needsRehash()', () => {
  it('is true for a hash made with any weaker parameter, false for equal or stronger ones', async () => {
    const hasher = new PasswordHasher({ N: 2 ** 11, r: 8, p: 1 });
    expect(hasher.needsRehash(await cheap.hash('pw'))).toBe(true);
    expect(hasher.needsRehash(await new PasswordHasher({ N: 2 ** 11, r: 4, p: 1 }).hash('pw'))).toBe(true);
    expect(hasher.needsRehash(await new PasswordHasher({ N: 2 ** 11, r: 8, p: 1 }).hash('pw'))).toBe(false);
    expect(hasher.needsRehash(await new PasswordHasher({ N: 2 ** 12, r: 8, p: 2 }).hash('pw'))).toBe(false);
    expect(hasher.needsRehash('md5$abc')).toBe(true);
  });
});

describe('PasswordHasher.verify()', () => {
  it('checks a hash by the parameters stored in it, whatever the hasher\'s own', async () => {
    const stored = await cheap.hash('correct horse');
    const other = new PasswordHasher({ N: 2 ** 11, r: 8, p: 1 });
    expect(await other.verify('correct horse', stored)).toBe(true);
    expect(await other.verify('correct horsf', stored)).toBe(false);
    expect(await other.verify('correct horse', 'scrypt$0$8$1$c2FsdA==$aGFzaA==')).toBe(false);
  });
});

describe('PasswordHasher.verifyNobody()', () => {
  it('checks against a hash of its own parameters (the timing equaliser), made once', async () => {
    const seen: string[] = [];
    class Spy extends PasswordHasher {
      override verify(password: string, stored: string): Promise<boolean> {
        seen.push(stored);
        return super.verify(password, stored);
      }
    }
    const spy = new Spy({ N: 2 ** 11, r: 8, p: 1 });
    expect(await spy.verifyNobody('anything')).toBe(false);
    expect(await spy.verifyNobody('anything else')).toBe(false);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/^scrypt\$2048\$8\$1\$/);
    expect(seen[1]).toBe(seen[0]);
  });
});
