/**
 * Slow requests and jobs: one stream per service, `{prefix}slow:{service}`, written with
 * `XADD key MAXLEN ~ 1000 * field value …`. Every field is a flat string; `kind`, `name`,
 * `durationMs`, `timestamp` and `nodeId` are required, the rest optional.
 */
import { z } from 'zod'
import { isValidName } from './names.js'
import { cutText } from './text.js'

export const SLOW_KINDS = ['request', 'job'] as const
export type SlowKind = (typeof SLOW_KINDS)[number]

/** Longest text kept in any field: names are route patterns or job names, errors one line. */
export const SLOW_TEXT_MAX = 256

const text = z.string().min(1).max(SLOW_TEXT_MAX)
const nonNegative = z.number().finite().nonnegative()

/** What an app records (SDK input); numbers are numbers here, strings on the wire. */
export const slowRecordSchema = z.object({
  kind: z.enum(SLOW_KINDS),
  name: text,
  durationMs: nonNegative,
  method: z.string().min(1).max(16).optional(),
  route: text.optional(),
  status: z.number().int().min(100).max(999).optional(),
  queue: text.optional(),
  jobId: text.optional(),
  attempts: z.number().int().nonnegative().optional(),
  error: z.string().max(SLOW_TEXT_MAX).optional(),
})

export type SlowRecord = z.infer<typeof slowRecordSchema>

export interface SlowEntry extends SlowRecord {
  /** the stream entry id */
  id: string
  timestamp: number
  nodeId: string
}

const OPTIONAL_TEXT = ['method', 'route', 'queue', 'jobId', 'error'] as const
const OPTIONAL_INT = ['status', 'attempts'] as const

/** The flat field list for XADD, in a fixed order. */
export function slowEntryFields(record: SlowRecord, timestamp: number, nodeId: string): string[] {
  const fields = ['kind', record.kind, 'name', record.name, 'durationMs', String(Math.round(record.durationMs * 10) / 10), 'timestamp', String(timestamp), 'nodeId', nodeId]
  for (const field of [...OPTIONAL_TEXT, ...OPTIONAL_INT]) {
    const value = record[field]
    if (value !== undefined) fields.push(field, String(value))
  }
  return fields
}

/**
 * Reads one stream entry as any agent may have written it. Required fields missing or malformed:
 * the entry is rejected with a reason. A bad optional field is dropped; text is cut to
 * SLOW_TEXT_MAX as an own copy, so a cut never keeps a huge field alive. Never throws.
 */
export function readSlowEntry(id: string, flat: readonly string[]): { ok: true; value: SlowEntry } | { ok: false; error: string } {
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i]
    const value = flat[i + 1]
    if (typeof key === 'string' && typeof value === 'string' && !fields.has(key)) fields.set(key, value)
  }
  const kind = fields.get('kind')
  if (kind !== 'request' && kind !== 'job') return { ok: false, error: 'kind is not request or job' }
  const name = fields.get('name')
  if (!name) return { ok: false, error: 'name is missing' }
  const durationMs = toNumber(fields.get('durationMs'))
  if (durationMs === null) return { ok: false, error: 'durationMs is not a non-negative number' }
  const timestamp = toNumber(fields.get('timestamp')) ?? entryIdTime(id)
  if (timestamp === null) return { ok: false, error: 'timestamp is missing' }
  const nodeId = fields.get('nodeId')
  const entry: SlowEntry = { id, kind, name: cutText(name, SLOW_TEXT_MAX), durationMs, timestamp, nodeId: isValidName(nodeId) ? nodeId : 'unknown' }
  for (const field of OPTIONAL_TEXT) {
    const value = fields.get(field)
    if (value) entry[field] = cutText(value, field === 'method' ? 16 : SLOW_TEXT_MAX)
  }
  for (const field of OPTIONAL_INT) {
    const value = toNumber(fields.get(field))
    if (value !== null && Number.isInteger(value)) entry[field] = value
  }
  return { ok: true, value: entry }
}

function toNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null
  const number = Number(value)
  return Number.isFinite(number) && number >= 0 ? number : null
}

/** A stream id is `{ms}-{seq}`: the time Redis added it, a fallback when no timestamp was sent. */
function entryIdTime(id: string): number | null {
  return toNumber(id.split('-')[0])
}
