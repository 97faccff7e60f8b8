/**
 * Between `ArchivedJob` and the table's rows. A batch is one INSERT, so one value PostgreSQL
 * refuses would lose the whole batch: everything it would refuse is cleaned here first, per
 * record (NUL characters in text, JSON that `jsonb` rejects, times past `bigint`), and a record
 * that arrives twice in one batch is written once, since ON CONFLICT cannot touch a row twice in
 * one statement.
 */
import type { ArchiveState, QueueDriver } from '@gravito/quasar/protocol'
import type { ArchivedJob, JobSummary } from './store.js'

/** The latest time JavaScript's Date can hold: anything later is not a time an agent meant. */
const MAX_TIME = 8.64e15
const MAX_ATTEMPT = 2_147_483_647
/** `jsonb` parses recursively; past this depth a payload is not worth the risk of its stack limit. */
const MAX_JSON_DEPTH = 100

/** The parallel arrays one `INSERT … SELECT FROM unnest(…)` takes, in column order. */
export interface RowColumns {
  service: string[]
  queue: string[]
  jobId: string[]
  attempt: number[]
  state: string[]
  name: (string | null)[]
  driver: (string | null)[]
  addedAt: (number | null)[]
  startedAt: (number | null)[]
  finishedAt: number[]
  durationMs: (number | null)[]
  waitMs: (number | null)[]
  failedReason: (string | null)[]
  stack: (string | null)[]
  data: (string | null)[]
  opts: (string | null)[]
  result: (string | null)[]
  appVersion: (string | null)[]
  nodeId: string[]
}

/** PostgreSQL text cannot hold U+0000. */
export function text(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '') : value
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

function optionalText(value: string | null | undefined): string | null {
  return typeof value === 'string' ? text(value) : null
}

function time(value: number | null | undefined): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIME) return null
  return Math.round(value)
}

function compareKeys(a: ArchivedJob, b: ArchivedJob): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1
  if (a.queue !== b.queue) return a.queue < b.queue ? -1 : 1
  if (a.jobId !== b.jobId) return a.jobId < b.jobId ? -1 : 1
  return a.attempt - b.attempt
}

/**
 * The records to write: the last of each key, sorted by key. The order matters beyond tidiness:
 * two replicas upserting overlapping batches take row locks in the same order, so neither waits
 * for a lock the other holds while holding one it wants (a deadlock PostgreSQL would break by
 * failing one batch).
 */
export function distinctSortedRecords(records: readonly ArchivedJob[]): ArchivedJob[] {
  const byKey = new Map<string, ArchivedJob>()
  for (const record of records) {
    const cleaned = { ...record, service: text(record.service), queue: text(record.queue), jobId: text(record.jobId) }
    cleaned.attempt = Number.isFinite(record.attempt) ? Math.min(Math.max(Math.round(record.attempt), 0), MAX_ATTEMPT) : 0
    byKey.set(JSON.stringify([cleaned.service, cleaned.queue, cleaned.jobId, cleaned.attempt]), cleaned)
  }
  return [...byKey.values()].sort(compareKeys)
}

export function toColumns(records: readonly ArchivedJob[]): RowColumns {
  const columns: RowColumns = {
    service: [],
    queue: [],
    jobId: [],
    attempt: [],
    state: [],
    name: [],
    driver: [],
    addedAt: [],
    startedAt: [],
    finishedAt: [],
    durationMs: [],
    waitMs: [],
    failedReason: [],
    stack: [],
    data: [],
    opts: [],
    result: [],
    appVersion: [],
    nodeId: [],
  }
  for (const record of distinctSortedRecords(records)) {
    columns.service.push(record.service)
    columns.queue.push(record.queue)
    columns.jobId.push(record.jobId)
    columns.attempt.push(record.attempt)
    columns.state.push(text(record.state))
    columns.name.push(optionalText(record.name))
    columns.driver.push(optionalText(record.driver))
    columns.addedAt.push(time(record.addedAt))
    columns.startedAt.push(time(record.startedAt))
    columns.finishedAt.push(Math.min(Math.max(Math.round(record.finishedAt) || 0, 0), MAX_TIME))
    columns.durationMs.push(time(record.durationMs))
    columns.waitMs.push(time(record.waitMs))
    columns.failedReason.push(optionalText(record.failedReason))
    columns.stack.push(optionalText(record.stack))
    columns.data.push(storableJson(record.data))
    columns.opts.push(optionalText(record.opts))
    columns.result.push(optionalText(record.result))
    columns.appVersion.push(optionalText(record.appVersion))
    columns.nodeId.push(text(record.nodeId))
  }
  return columns
}

/**
 * JSON text that both `json` and `jsonb` accept, or null when it is not JSON. Text that is
 * already acceptable is kept as written; otherwise it is rewritten with NUL characters removed,
 * lone surrogates replaced, and numbers JavaScript cannot hold as null (`jsonb` refuses `\u0000`
 * and unpaired surrogates, and numbers past its numeric range).
 */
export function storableJson(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value === '') return null
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return null
  }
  const verdict = inspect(parsed, 0)
  if (verdict === 'too deep') return null
  if (verdict === 'clean' && !/\\u0000/i.test(value)) return value
  return JSON.stringify(cleanJson(parsed))
}

function cleanString(value: string): string {
  return text(value).replace(LONE_SURROGATES, '\uFFFD')
}

function cleanJson(node: unknown): unknown {
  if (typeof node === 'string') return cleanString(node)
  if (typeof node === 'number') return Number.isFinite(node) ? node : null
  if (node === null || typeof node !== 'object') return node
  if (Array.isArray(node)) return node.map(cleanJson)
  // no prototype: a `__proto__` key from JSON.parse stays an ordinary key
  const out = Object.create(null) as Record<string, unknown>
  for (const [key, child] of Object.entries(node)) out[cleanString(key)] = cleanJson(child)
  return out
}

function inspect(node: unknown, depth: number): 'clean' | 'dirty' | 'too deep' {
  if (depth > MAX_JSON_DEPTH) return 'too deep'
  if (typeof node === 'string') return node.includes('\0') || LONE_SURROGATE.test(node) ? 'dirty' : 'clean'
  if (typeof node === 'number') return Number.isFinite(node) ? 'clean' : 'dirty'
  if (node === null || typeof node !== 'object') return 'clean'
  let verdict: 'clean' | 'dirty' = 'clean'
  const entries = Array.isArray(node) ? node.map((item) => ['', item] as const) : Object.entries(node)
  for (const [key, child] of entries) {
    if (key.includes('\0') || LONE_SURROGATE.test(key)) verdict = 'dirty'
    const inner = inspect(child, depth + 1)
    if (inner === 'too deep') return inner
    if (inner === 'dirty') verdict = 'dirty'
  }
  return verdict
}

type Row = Record<string, unknown>

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null)

export function toSummary(row: Row): JobSummary & { seq: number } {
  return {
    seq: Number(row['seq']),
    service: String(row['service']),
    queue: String(row['queue']),
    jobId: String(row['job_id']),
    attempt: Number(row['attempt']),
    state: row['state'] as ArchiveState,
    name: stringOrNull(row['name']),
    driver: stringOrNull(row['driver']) as QueueDriver | null,
    addedAt: numberOrNull(row['added_at']),
    startedAt: numberOrNull(row['started_at']),
    finishedAt: Number(row['finished_at']),
    durationMs: numberOrNull(row['duration_ms']),
    waitMs: numberOrNull(row['wait_ms']),
    failedReason: stringOrNull(row['failed_reason']),
    appVersion: stringOrNull(row['app_version']),
    nodeId: String(row['node_id']),
  }
}

export function toArchivedJob(row: Row): ArchivedJob {
  const { seq: _seq, ...summary } = toSummary(row)
  return { ...summary, stack: stringOrNull(row['stack']), data: stringOrNull(row['data']), opts: stringOrNull(row['opts']), result: stringOrNull(row['result']) }
}
