/**
 * Job fields as a record carries them: JSON payloads bounded and redacted (boundJobData), text cut
 * to the protocol's limits. The raw text comes from a hash read bounded by HSTRLEN (queues/hashes.ts),
 * so nothing here parses more than FIELD_READ_LIMIT.
 */
import { boundJobData, cutText, JOB_DATA_BOUNDS, JOB_RECORD_LIMITS } from '../protocol/index.js'
import type { BigField } from '../queues/hashes.js'

/**
 * A JSON field as bounded JSON text: a value too large to read becomes the same marker that
 * boundJobData gives a value too large to keep; text that is not JSON is kept as a string.
 */
export function boundedJson(field: BigField | string | undefined, redactKeys: readonly string[], max: number): string | undefined {
  if (field === undefined || field === null) return undefined
  if (typeof field !== 'string' && 'tooLarge' in field) return JSON.stringify({ _truncated: true, bytes: field.tooLarge })
  const raw = typeof field === 'string' ? field : field.value
  if (raw === '') return undefined
  let value: unknown
  try {
    // no reviver: V8 revives recursively, and a 10,000-deep value would overflow the stack
    value = markBinary(JSON.parse(raw), 0)
  } catch {
    value = raw
  }
  return boundJobData(value, redactKeys, max)
}

/**
 * Replaces what JSON.stringify made of a Buffer (`{"type":"Buffer","data":[…]}`) with
 * `[binary N bytes]`, down to the depth boundJobData keeps (deeper is cut anyway).
 */
function markBinary(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > JOB_DATA_BOUNDS.depth) return value
  if (Array.isArray(value)) {
    for (let n = 0; n < Math.min(value.length, JOB_DATA_BOUNDS.items); n++) value[n] = markBinary(value[n], depth + 1)
    return value
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 2 && record.type === 'Buffer' && Array.isArray(record.data)) return `[binary ${record.data.length} bytes]`
  for (const key of keys.slice(0, JOB_DATA_BOUNDS.keys)) if (key !== '__proto__') record[key] = markBinary(record[key], depth + 1)
  return value
}

export function reasonText(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === '') return undefined
  return cutText(reason, JOB_RECORD_LIMITS.reason, '…')
}

export function stackText(stack: string | undefined): string | undefined {
  if (stack === undefined || stack === '') return undefined
  return cutText(stack, JOB_RECORD_LIMITS.stack, '…')
}

/** The message of a JavaScript stack's first line (`TypeError: message` gives `message`). */
export function reasonOfStack(stack: string | undefined): string | undefined {
  if (!stack) return undefined
  const first = stack.split('\n', 1)[0]!.trim()
  const match = /^[A-Za-z_$][\w$]*: (.*)$/.exec(first)
  return match ? match[1] : first || undefined
}

/** A non-negative finite number from Redis text, else undefined. */
export function numberOf(raw: string | null | undefined): number | undefined {
  if (raw === null || raw === undefined || raw.trim() === '') return undefined
  const value = Number(raw)
  return Number.isFinite(value) && value >= 0 ? value : undefined
}

/** b − a when both are known and b is not before a. */
export function span(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b >= a ? b - a : undefined
}
