/**
 * Error replies that concern one key (a key of another type, a key the console's ACL user may not
 * read, a command refused for its argument) are skipped by the readers and reported for that key.
 * Anything else (the connection dropped, a timeout, a Redis still loading) concerns every key: it
 * is thrown, and the part reading fails as a whole.
 */
import type { Slot } from './batch.js'

/**
 * Where a reader reports a key it skipped, and why. Declared here so the seam knows no engine:
 * the collector's bad-data log satisfies it (rate-limited in the log, kept in the problem record).
 */
export interface SkippedKeyLog {
  report(key: string, reason: string): void
}

const KEY_ERROR = /^(WRONGTYPE|NOPERM|ERR)\b/

export function isKeyError(error: unknown): error is Error {
  return error instanceof Error && KEY_ERROR.test(error.message)
}

/** The first words of a Redis error, for the bad-data log. */
export function shortReason(error: Error): string {
  return error.message.split(/\s+/).slice(0, 6).join(' ')
}

/** What a command on one key answered: its value, or `skipped` once the key was reported. */
export type KeyRead<T> = { readonly ok: true; readonly value: T } | { readonly ok: false }

/**
 * The reply of a command on `key`. A key error is reported under `key` and comes back as not ok,
 * for the caller to skip what depends on it; any other error is thrown.
 */
export function readKey<T>(slot: Slot<T>, key: string, badData: SkippedKeyLog): KeyRead<T> {
  const reply = slot.reply
  if (reply.ok) return reply
  if (!isKeyError(reply.error)) throw reply.error
  badData.report(key, shortReason(reply.error))
  return { ok: false }
}

/** The reply's value, for commands whose every error concerns the connection (or the console's own keys). */
export function valueOf<T>(slot: Slot<T>): T {
  const reply = slot.reply
  if (!reply.ok) throw reply.error
  return reply.value
}
