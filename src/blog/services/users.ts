import { createHash } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { UserEntity, type UserRow } from '../entities/user.ts';
import { defaultHasher, type PasswordHasher } from '../password.ts';
import type { Logger } from '../../log.ts';
import { passwordProblem } from '../password-policy.ts';

/** The signed-in author, as sessions and templates know it. */
export interface Author {
  id: number;
  username: string;
}

/** What {@link UserService} needs besides the database. */
export interface UserServiceDeps {
  /** How passwords are hashed (default {@link defaultHasher}; tests pass a cheaper one). */
  hasher?: PasswordHasher;
  /** Where a failed hash upgrade is reported (default the console). */
  logger?: Logger;
}

/** What a wrong current password is told. */
export const WRONG_PASSWORD = 'That is not your current password.';

/** What a password change did: done, or which field was wrong and why. */
export type PasswordChange = { ok: true } | { ok: false; field: 'username' | 'current' | 'password'; message: string };

/**
 * What a session remembers of the password it was signed in with: a digest of the stored hash,
 * which every new hash changes (each has a fresh salt). A session whose stamp is not the
 * account's current one is void, so changing the password, from the author's page or the
 * command line, ends every session made before, in every process and either session store.
 */
export function credentialStamp(passwordHash: string): string {
  return createHash('sha256').update(`kiln session credentials\0${passwordHash}`).digest('base64url').slice(0, 22);
}

/** The author's account: creation at start, password checks at login, password changes. */
export class UserService {
  private readonly repo: Repository<UserRow>;
  private readonly hasher: PasswordHasher;
  private readonly logger: Logger;

  constructor(ds: DataSource, deps: UserServiceDeps = {}) {
    this.repo = ds.getRepository(UserEntity);
    this.hasher = deps.hasher ?? defaultHasher;
    this.logger = deps.logger ?? console;
  }

  /**
   * The author if the password matches, else null (an unknown name costs as long as a wrong
   * password). A matching hash made with weaker parameters is replaced by a current one.
   */
  async verify(username: string, password: string): Promise<Author | null> {
    const user = await this.repo.findOneBy({ username });
    if (user === null) {
      await this.hasher.verifyNobody(password);
      return null;
    }
    if (!(await this.hasher.verify(password, user.passwordHash))) return null;
    if (this.hasher.needsRehash(user.passwordHash)) await this.rehash(user, password);
    return { id: user.id, username: user.username };
  }

  /** The author with this id, if the account still exists. */
  async byId(id: number): Promise<Author | null> {
    const user = await this.repo.findOneBy({ id });
    return user ? { id: user.id, username: user.username } : null;
  }

  /** The author a session speaks for: only while the account exists and `stamp` is its current {@link credentialStamp}. */
  async forSession(id: number, stamp: string): Promise<Author | null> {
    const user = await this.repo.findOneBy({ id });
    if (user === null || credentialStamp(user.passwordHash) !== stamp) return null;
    return { id: user.id, username: user.username };
  }

  /** The {@link credentialStamp} a new session of this account carries, or null without the account. */
  async sessionStamp(id: number): Promise<string | null> {
    const user = await this.repo.findOneBy({ id });
    return user === null ? null : credentialStamp(user.passwordHash);
  }

  /**
   * The signed-in author's change: `current` must be the password, `next` must pass the
   * strength floor (password-policy.ts). The new hash replaces the one just checked only if it
   * is still stored, so two changes at once cannot both win.
   */
  async changePassword(id: number, current: string, next: string): Promise<PasswordChange> {
    const user = await this.repo.findOneBy({ id });
    if (user === null) return { ok: false, field: 'current', message: 'Your account no longer exists.' };
    const problem = passwordProblem(next, user.username);
    if (problem !== undefined) return { ok: false, field: 'password', message: problem };
    if (!(await this.hasher.verify(current, user.passwordHash))) return { ok: false, field: 'current', message: WRONG_PASSWORD };
    const result = await this.repo.update({ id, passwordHash: user.passwordHash }, { passwordHash: await this.hasher.hash(next) });
    if (result.affected !== 1) return { ok: false, field: 'current', message: 'Your password was changed elsewhere meanwhile; sign in again.' };
    return { ok: true };
  }

  /** Sets the password of `username` without the old one (the command line, for an author locked out). */
  async resetPassword(username: string, next: string): Promise<PasswordChange> {
    if (!(await this.repo.existsBy({ username }))) return { ok: false, field: 'username', message: `There is no user "${username}".` };
    const problem = passwordProblem(next, username);
    if (problem !== undefined) return { ok: false, field: 'password', message: problem };
    const result = await this.repo.update({ username }, { passwordHash: await this.hasher.hash(next) });
    if (result.affected !== 1) return { ok: false, field: 'username', message: `There is no user "${username}".` };
    return { ok: true };
  }

  /** Every username, in order (to say which exist when a name is wrong). */
  async usernames(): Promise<string[]> {
    return (await this.repo.find({ select: { username: true }, order: { username: 'ASC' } })).map((user) => user.username);
  }

  /** Creates the account unless a user with this name exists; true when it created one. */
  async createIfMissing(username: string, password: string): Promise<boolean> {
    if (await this.repo.existsBy({ username })) return false;
    await this.repo.insert({ username, passwordHash: await this.hasher.hash(password) });
    return true;
  }

  /** How many accounts exist. */
  count(): Promise<number> {
    return this.repo.count();
  }

  // Only if the stored hash is still the one just checked, so a password changed meanwhile is
  // never overwritten. A failure leaves the old hash, which still works: the login goes on.
  private async rehash(user: UserRow, password: string): Promise<void> {
    try {
      const passwordHash = await this.hasher.hash(password);
      await this.repo.update({ id: user.id, passwordHash: user.passwordHash }, { passwordHash });
    } catch (err) {
      this.logger.warn(`users: could not upgrade the password hash of "${user.username}" (${err instanceof Error ? err.message : String(err)})`);
    }
  }
}
