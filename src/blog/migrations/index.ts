import { Initial1700000000000 } from './1700000000000-initial.ts';

/** Every migration, oldest first; listed by hand so no glob depends on the file extension. */
export const migrations = [Initial1700000000000];
