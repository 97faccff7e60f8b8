/**
 * Finished jobs: one stream per service, `{prefix}archive:{service}`, written with
 * `XADD key MAXLEN ~ ARCHIVE_STREAM_MAXLEN * field value …`, one entry per finished attempt
 * (completed, or failed whether or not it will be retried). The console's archiver reads the
 * streams through a consumer group and keeps the records in SQL storage, keyed by
 * (service, queue, jobId, attempt): an entry written twice is stored once.
 *
 * Every field is a flat string. Required: `v` (1), `queue`, `jobId`, `state`, `attempt`,
 * `finishedAt`, `nodeId`. `data`, `opts` and `result` are JSON text, already bounded and redacted
 * by the writer (see `boundJobData`); the reader bounds them again and never trusts the writer.
 */
import { z } from 'zod'
import { isValidName } from './names.js'
import { cutText } from './text.js'
import { parseAgentJson } from './json.js'
import { QUEUE_DRIVERS, type QueueDriver } from './queues.js'

/** Approximate cap on each service's archive stream (`XADD MAXLEN ~`): a backlog of minutes at 100 jobs/s. */
export const ARCHIVE_STREAM_MAXLEN = 50_000

export const ARCHIVE_STATES = ['completed', 'failed'] as const
export type ArchiveState = (typeof ARCHIVE_STATES)[number]

/** Longest text kept per field (UTF-16 units); `entry` bounds a whole entry in UTF-8 bytes. */
export const JOB_RECORD_LIMITS = {
  id: 256,
  name: 256,
  reason: 2048,
  stack: 8192,
  data: 16 * 1024,
  opts: 4096,
  result: 4096,
  entry: 64 * 1024,
} as const

/** Keys whose values are replaced by REDACTED wherever they appear in job data (case-insensitive, substring). */
export const DEFAULT_REDACT_KEYS = ['password', 'passwd', 'token', 'secret', 'authorization', 'cookie', 'api_key', 'apikey', 'credit_card', 'card_number'] as const
export const REDACTED = '[redacted]'

const text = (max: number) => z.string().min(1).max(max)
const time = z.number().finite().nonnegative()

/** One finished attempt as a writer builds it (numbers are numbers here, strings on the wire). */
export const jobRecordSchema = z.object({
  queue: text(512),
  jobId: text(JOB_RECORD_LIMITS.id),
  name: text(JOB_RECORD_LIMITS.name).optional(),
  state: z.enum(ARCHIVE_STATES),
  /** 1 for the first attempt */
  attempt: z.number().int().min(1).max(1_000_000),
  driver: z.enum(QUEUE_DRIVERS).optional(),
  addedAt: time.optional(),
  startedAt: time.optional(),
  finishedAt: time,
  /** finishedAt − startedAt */
  durationMs: time.optional(),
  /** startedAt − addedAt (or − the time a delayed job became due) */
  waitMs: time.optional(),
  failedReason: z.string().max(JOB_RECORD_LIMITS.reason).optional(),
  stack: z.string().max(JOB_RECORD_LIMITS.stack).optional(),
  /** JSON text, bounded and redacted */
  data: z.string().max(JOB_RECORD_LIMITS.data).optional(),
  opts: z.string().max(JOB_RECORD_LIMITS.opts).optional(),
  result: z.string().max(JOB_RECORD_LIMITS.result).optional(),
  appVersion: text(128).optional(),
  nodeId: text(64),
})

export type JobRecord = z.infer<typeof jobRecordSchema>

const TEXT_FIELDS = ['name', 'driver', 'failedReason', 'stack', 'data', 'opts', 'result', 'appVersion'] as const
const TIME_FIELDS = ['addedAt', 'startedAt', 'durationMs', 'waitMs'] as const

/** The flat field list for XADD, in a fixed order. */
export function jobRecordFields(record: JobRecord): string[] {
  const fields = ['v', '1', 'queue', record.queue, 'jobId', record.jobId, 'state', record.state, 'attempt', String(record.attempt), 'finishedAt', String(Math.round(record.finishedAt)), 'nodeId', record.nodeId]
  for (const field of TIME_FIELDS) {
    const value = record[field]
    if (value !== undefined) fields.push(field, String(Math.round(value)))
  }
  for (const field of TEXT_FIELDS) {
    const value = record[field]
    if (value !== undefined && value !== '') fields.push(field, value)
  }
  return fields
}

/** A record as read back: every field bounded, `data` etc. valid JSON text or absent, and what was dropped. */
export interface JobRecordEntry extends JobRecord {
  /** the stream entry id */
  id: string
  /** fields dropped or cut while reading, with why (agent text) */
  notes: string[]
}

/**
 * Reads one stream entry as any agent may have written it. A missing or malformed required field
 * rejects the entry with a reason; a bad optional field is dropped and noted; text is cut to its
 * limit as an own copy; `data`, `opts` and `result` that are not JSON within their limits are
 * dropped with a note, and `data` is bounded and redacted again. Never throws.
 */
export function readJobRecord(id: string, flat: readonly unknown[], redactKeys: readonly string[] = DEFAULT_REDACT_KEYS): { ok: true; value: JobRecordEntry } | { ok: false; error: string } {
  const fields = new Map<string, string>()
  let bytes = 0
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i]
    const value = flat[i + 1]
    if (typeof key !== 'string' || typeof value !== 'string') return { ok: false, error: 'a field is not text' }
    bytes += key.length + value.length
    if (!fields.has(key)) fields.set(key, value)
  }
  if (bytes > JOB_RECORD_LIMITS.entry) return { ok: false, error: `entry is over ${JOB_RECORD_LIMITS.entry} characters` }
  if (fields.get('v') !== '1') return { ok: false, error: 'v is not 1' }
  const queue = fields.get('queue')
  if (!queue || queue.length > 512) return { ok: false, error: 'queue is missing or too long' }
  const jobId = fields.get('jobId')
  if (!jobId || jobId.length > JOB_RECORD_LIMITS.id) return { ok: false, error: 'jobId is missing or too long' }
  const state = fields.get('state')
  if (state !== 'completed' && state !== 'failed') return { ok: false, error: 'state is not completed or failed' }
  const attempt = toNumber(fields.get('attempt'))
  if (attempt === null || !Number.isInteger(attempt) || attempt < 1 || attempt > 1_000_000) return { ok: false, error: 'attempt is not a whole number from 1' }
  const finishedAt = toNumber(fields.get('finishedAt'))
  if (finishedAt === null) return { ok: false, error: 'finishedAt is not a time' }
  const nodeId = fields.get('nodeId')
  const notes: string[] = []
  const entry: JobRecordEntry = { id, queue, jobId, state, attempt, finishedAt, nodeId: isValidName(nodeId) ? nodeId : 'unknown', notes }
  for (const field of TIME_FIELDS) {
    const raw = fields.get(field)
    if (raw === undefined) continue
    const value = toNumber(raw)
    if (value === null) notes.push(`${field} is not a non-negative number`)
    else entry[field] = value
  }
  const name = fields.get('name')
  if (name) entry.name = cutText(name, JOB_RECORD_LIMITS.name)
  const driver = fields.get('driver')
  if (driver && (QUEUE_DRIVERS as readonly string[]).includes(driver)) entry.driver = driver as QueueDriver
  const appVersion = fields.get('appVersion')
  if (appVersion) entry.appVersion = cutText(appVersion, 128)
  const reason = fields.get('failedReason')
  if (reason) entry.failedReason = cutText(reason, JOB_RECORD_LIMITS.reason, '…')
  const stack = fields.get('stack')
  if (stack) entry.stack = cutText(stack, JOB_RECORD_LIMITS.stack, '…')
  for (const field of ['data', 'opts', 'result'] as const) {
    const raw = fields.get(field)
    if (!raw) continue
    const limit = JOB_RECORD_LIMITS[field]
    const parsed = parseAgentJson(raw, limit)
    if (!parsed.ok) {
      notes.push(`${field} dropped: ${parsed.error}`)
      continue
    }
    entry[field] = field === 'data' ? boundJobData(parsed.value, redactKeys, limit) : raw
  }
  return { ok: true, value: entry }
}

const MORE_ITEMS = /^\[\d{1,16} more items\]$/
const MORE_KEYS = /^\d{1,16} more keys$/

/** How deep, wide and long job data may be once bounded. */
export const JOB_DATA_BOUNDS = { depth: 8, keys: 100, items: 100, text: 1024 } as const

/**
 * Job data as JSON text that is safe to keep: values under a key that contains one of
 * `redactKeys` (case-insensitive) become REDACTED; nesting past JOB_DATA_BOUNDS.depth, objects and
 * arrays past their width and strings past their length are cut with a marker; binary values
 * (Buffer, typed arrays) become `[binary N bytes]`; functions, symbols and cycles are dropped.
 * When the result is still longer than `maxChars`, it becomes `{"_truncated":true,"bytes":N}`.
 * Never throws.
 */
export function boundJobData(value: unknown, redactKeys: readonly string[] = DEFAULT_REDACT_KEYS, maxChars: number = JOB_RECORD_LIMITS.data): string {
  const lowered = redactKeys.map((key) => key.toLowerCase())
  const seen = new Set<object>()
  const walk = (node: unknown, depth: number): unknown => {
    if (node === null || typeof node === 'boolean') return node
    if (typeof node === 'number') return Number.isFinite(node) ? node : null
    if (typeof node === 'bigint') return node.toString()
    if (typeof node === 'string') return node.length > JOB_DATA_BOUNDS.text ? cutText(node, JOB_DATA_BOUNDS.text, '…') : node
    if (typeof node !== 'object') return undefined
    if (ArrayBuffer.isView(node)) return `[binary ${node.byteLength} bytes]`
    if (node instanceof ArrayBuffer) return `[binary ${node.byteLength} bytes]`
    if (seen.has(node)) return '[cycle]'
    if (depth >= JOB_DATA_BOUNDS.depth) return '[too deep]'
    seen.add(node)
    try {
      if (node instanceof Date) return Number.isFinite(node.getTime()) ? node.toISOString() : null
      if (Array.isArray(node)) {
        const out = node.slice(0, JOB_DATA_BOUNDS.items).map((item) => walk(item, depth + 1) ?? null)
        const rest: unknown = node[JOB_DATA_BOUNDS.items]
        // an array bounded before (by the writer) keeps its marker when bounded again (by the reader)
        if (node.length === JOB_DATA_BOUNDS.items + 1 && typeof rest === 'string' && MORE_ITEMS.test(rest)) out.push(rest)
        else if (node.length > JOB_DATA_BOUNDS.items) out.push(`[${node.length - JOB_DATA_BOUNDS.items} more items]`)
        return out
      }
      const out: Record<string, unknown> = {}
      let kept = 0
      let cut = 0
      const more = (node as Record<string, unknown>)['_more']
      const earlierMore = typeof more === 'string' && MORE_KEYS.test(more) ? more : undefined
      for (const key of Object.keys(node)) {
        if (key === '_more' && earlierMore !== undefined) continue
        if (kept >= JOB_DATA_BOUNDS.keys) {
          cut++
          continue
        }
        if (key === '__proto__') continue
        const safeKey = cutText(key, 128)
        const lower = key.toLowerCase()
        if (lowered.some((secret) => lower.includes(secret))) out[safeKey] = REDACTED
        else {
          const child = walk((node as Record<string, unknown>)[key], depth + 1)
          if (child === undefined) continue
          out[safeKey] = child
        }
        kept++
      }
      if (cut > 0) out['_more'] = `${cut} more keys`
      else if (earlierMore !== undefined) out['_more'] = earlierMore
      return out
    } catch {
      return '[unreadable]'
    } finally {
      seen.delete(node)
    }
  }
  let json: string
  try {
    json = JSON.stringify(walk(value, 0) ?? null)
  } catch {
    json = 'null'
  }
  if (json.length > maxChars) return JSON.stringify({ _truncated: true, bytes: Buffer.byteLength(json, 'utf8') })
  return json
}

function toNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null
  const number = Number(value)
  return Number.isFinite(number) && number >= 0 ? number : null
}
