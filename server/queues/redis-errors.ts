/**
 * Error replies that concern one key (a key of another type, a key the console's ACL user may not
 * read, a command refused for its argument) are skipped by the queue readers. Anything else (the
 * connection dropped, a timeout) fails the tick, which then counts as "Redis unreachable".
 */
const KEY_ERROR = /^(WRONGTYPE|NOPERM|ERR)\b/

export function isKeyError(error: unknown): error is Error {
  return error instanceof Error && KEY_ERROR.test(error.message)
}

/** The first words of a Redis error, for the bad-data log. */
export function shortReason(error: Error): string {
  return error.message.split(/\s+/).slice(0, 6).join(' ')
}
