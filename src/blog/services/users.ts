import type { DataSource, Repository } from 'typeorm';
import { UserEntity, type UserRow } from '../entities/user.ts';
import { defaultHasher, type PasswordHasher } from '../password.ts';
import type { Logger } from '../../log.ts';

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

/** The author's account: creation at start and password checks at login. */
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
