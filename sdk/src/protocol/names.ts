/**
 * The name rules. Services and nodes become parts of Redis keys, SCAN and ACL patterns and pub/sub
 * channels, so their names must not contain `:` (key separator), `* ? [ ]` (glob characters) or
 * `{ }` (Redis Cluster hash tags). Queue names belong to the queue system (BullMQ allows `send
 * email`, `emails@v2`, unicode; Laravel allows `{high}` and `a:b`): they are bounded in length and
 * refused only for control characters, and whoever puts one in a key or a URL encodes it.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'

export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
export const NAME_MAX = 64

export const nameSchema = z.string().regex(NAME_PATTERN, 'must match ^[A-Za-z0-9._-]{1,64}$')

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value)
}

/** Longest queue name, in UTF-16 units: far above what queue systems use, small enough to bound every read. */
export const QUEUE_NAME_MAX = 256
// C0, DEL and C1 controls: they break log lines and terminals, and no queue system needs them
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export const queueNameSchema = z
  .string()
  .min(1)
  .max(QUEUE_NAME_MAX)
  .refine((value) => !CONTROL.test(value), 'must not contain control characters')

export function isValidQueueName(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= QUEUE_NAME_MAX && !CONTROL.test(value)
}

/**
 * Turns any string into a name that passes the rule: disallowed characters become `-`, the result
 * is cut to 64 characters, and an empty result becomes `unknown`. Lossy: two inputs can give one
 * name. For a name that must stay distinct, use validNameFrom.
 */
export function sanitizeName(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, NAME_MAX)
  return cleaned.length > 0 ? cleaned : 'unknown'
}

/** First 8 hex digits of SHA-256 of the UTF-8 text: what keeps two cut names apart. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8)
}

/**
 * A valid name for any text, distinct for distinct texts in practice: a valid text is kept as it
 * is; any other is cleaned (runs of disallowed characters become one `-`, cut from both ends),
 * cut to fit, and suffixed with `-` and its shortHash. `{bull}` → `bull-…`, `app:bull` → `app-bull-…`.
 */
export function validNameFrom(text: string, tail = ''): string {
  if (isValidName(text + tail)) return text + tail
  const suffix = `-${shortHash(text)}${tail}`
  const head = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_MAX - suffix.length)
  return (head === '' ? 'x' : head) + suffix
}

/**
 * The default node id: `{host}-{pid}` when that is a valid name; otherwise (a Kubernetes pod name
 * plus a pid can pass 64 characters) the host cleaned and cut, the hash of the host, then the pid,
 * so the id stays readable, stays unique per host, and keeps the pid. PROTOCOL.md gives the same
 * rule for other languages.
 */
export function nodeIdFrom(host: string, pid: number): string {
  return validNameFrom(host, `-${pid}`)
}
