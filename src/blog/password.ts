import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost parameters: CPU/memory cost `N` (a power of two), block size `r`, parallelism `p`. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * The parameters new hashes use: OWASP's recommendation, N=2^17, r=8, p=1 (128 MiB and about
 * 0.3–0.5 s per hash on a small server). They are stored with each hash, so a hash made with
 * weaker ones still verifies and is replaced at its owner's next login.
 */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

const KEY_LENGTH = 64;
const SALT_LENGTH = 16;

/** The parts of a stored `scrypt$N$r$p$salt$hash`, or undefined when it is not one. */
function parse(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return undefined;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Object.values(params).every((v) => Number.isSafeInteger(v) && v > 0)) return undefined;
  return { params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node refuses more than `maxmem` (32 MiB by default).
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes and checks passwords with one set of scrypt parameters. The application uses
 * {@link defaultHasher}; only the test setup builds a cheaper one (through `createApp`'s and
 * `UserService`'s dependencies), so no setting can weaken production hashing.
 */
export class PasswordHasher {
  /** A hash of these parameters checked for unknown users, so they cost as long as known ones. */
  private dummy: Promise<string> | undefined;

  constructor(readonly params: Readonly<ScryptParams> = SCRYPT_PARAMS) {}

  /** Hashes a password as `scrypt$N$r$p$salt$hash` (base64 parts) with a fresh 16-byte salt. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await derive(password, salt, this.params);
    const { N, r, p } = this.params;
    return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
  }

  /** Checks a password against a stored hash (of any parameters) in constant time; false for any malformed hash. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parse(stored);
    if (parsed === undefined) return false;
    const actual = await derive(password, parsed.salt, parsed.params);
    return parsed.hash.length === actual.length && timingSafeEqual(parsed.hash, actual);
  }

  /** Spends what {@link verify} spends on a hash of these parameters, and returns false (for a user that does not exist). */
  async verifyNobody(password: string): Promise<false> {
    this.dummy ??= this.hash('kiln-timing-equaliser');
    await this.verify(password, await this.dummy);
    return false;
  }

  /** Whether `stored` was made with weaker parameters than these, and should be replaced once the password is known. */
  needsRehash(stored: string): boolean {
    const parsed = parse(stored);
    if (parsed === undefined) return true;
    const { N, r, p } = parsed.params;
    return N < this.params.N || r < this.params.r || p < this.params.p || parsed.hash.length < KEY_LENGTH;
  }
}

/** The hasher the application uses: {@link SCRYPT_PARAMS}. */
export const defaultHasher = new PasswordHasher();
