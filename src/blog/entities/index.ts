export { PostEntity, type PostRow } from './post.ts';
export { UserEntity, type UserRow } from './user.ts';
export { SessionEntity, type SessionRow } from './session.ts';
export { OutboxEntity, type OutboxRow } from './outbox.ts';
export { ListingCountEntity, ListingDayCountEntity, type ListingCountRow, type ListingDayCountRow } from './listing-count.ts';
