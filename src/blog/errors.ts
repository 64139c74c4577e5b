/** The thing asked for does not exist (or is not visible to this reader). */
export class NotFoundError extends Error {
  constructor(message = 'Not found') {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** An edit was based on an older version than the one stored: someone saved in between. */
export class ConflictError extends Error {
  constructor(message = 'This post was changed by someone else since you opened it') {
    super(message);
    this.name = 'ConflictError';
  }
}
