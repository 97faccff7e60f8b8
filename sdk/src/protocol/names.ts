/**
 * The name rule for services, nodes and queues. Names become parts of Redis keys, SCAN and ACL
 * patterns and pub/sub channels, so they must not contain `:` (key separator), `* ? [ ]` (glob
 * characters) or `{ }` (Redis Cluster hash tags).
 */
import { z } from 'zod'

export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

export const nameSchema = z.string().regex(NAME_PATTERN, 'must match ^[A-Za-z0-9._-]{1,64}$')

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value)
}

/**
 * Turns any string into a name that passes the rule: disallowed characters become `-`, the result
 * is cut to 64 characters, and an empty result becomes `unknown`. Used by the SDK for defaults
 * built from hostnames, never for names a user typed (those are rejected instead).
 */
export function sanitizeName(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64)
  return cleaned.length > 0 ? cleaned : 'unknown'
}
