import { Initial1700000000000 } from './1700000000000-initial.ts';
import { SidebarIndex1700000000001 } from './1700000000001-sidebar-index.ts';
import { LoginAttempts1700000000002 } from './1700000000002-login-attempts.ts';
import { CacheOutbox1700000000003 } from './1700000000003-cache-outbox.ts';
import { UniqueSlugs1700000000004 } from './1700000000004-unique-slugs.ts';
import { AuthorListIndexes1700000000005 } from './1700000000005-author-list-indexes.ts';
import { PostsAtScale1700000000006 } from './1700000000006-posts-at-scale.ts';

/** Every migration, oldest first; listed by hand so no glob depends on the file extension. */
export const migrations = [
  Initial1700000000000,
  SidebarIndex1700000000001,
  LoginAttempts1700000000002,
  CacheOutbox1700000000003,
  UniqueSlugs1700000000004,
  AuthorListIndexes1700000000005,
  PostsAtScale1700000000006,
];
