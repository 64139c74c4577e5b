import type { DataSource, Repository } from 'typeorm';
import { UserEntity, type UserRow } from '../entities/user.ts';
import { hashPassword, verifyPassword } from '../password.ts';

/** The signed-in author, as sessions and templates know it. */
export interface Author {
  id: number;
  username: string;
}

// Compared against when the username is unknown, so a wrong name costs as long as a wrong password.
const DUMMY_HASH = hashPassword('kiln-timing-equaliser');

/** The author's account: creation at start and password checks at login. */
export class UserService {
  private readonly repo: Repository<UserRow>;

  constructor(ds: DataSource) {
    this.repo = ds.getRepository(UserEntity);
  }

  /** The author if the password matches, else null (same time either way). */
  async verify(username: string, password: string): Promise<Author | null> {
    const user = await this.repo.findOneBy({ username });
    const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH));
    return ok && user ? { id: user.id, username: user.username } : null;
  }

  /** The author with this id, if the account still exists. */
  async byId(id: number): Promise<Author | null> {
    const user = await this.repo.findOneBy({ id });
    return user ? { id: user.id, username: user.username } : null;
  }

  /** Creates the account unless a user with this name exists; true when it created one. */
  async createIfMissing(username: string, password: string): Promise<boolean> {
    if (await this.repo.existsBy({ username })) return false;
    await this.repo.insert({ username, passwordHash: await hashPassword(password) });
    return true;
  }

  /** How many accounts exist. */
  count(): Promise<number> {
    return this.repo.count();
  }
}
