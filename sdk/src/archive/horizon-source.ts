/**
 * Finished jobs of one Laravel queue, from Horizon's records (RedisJobRepository): `completed_jobs`
 * and `failed_jobs` are sorted sets of job ids scored by minus the time the job completed or
 * failed (PHP microtime), and each job is a hash `{horizonPrefix}{id}` with `queue name status
 * payload exception reserved_at completed_at failed_at`. (`recent_jobs` is scored by the push
 * time, so a job pushed long ago and finished now would sort behind the cursor: the two sets
 * scored by the finish time are read instead.) Horizon records a job's final outcome only (a
 * released attempt goes back to the queue unrecorded), so each record is that outcome, numbered by
 * the payload's `attempts`.
 *
 * Both sets hold every queue of the application: the hash's `queue` picks this queue's jobs. The
 * cursor is, per set, the newest time read and the ids read at that time (equal scores are
 * possible at PHP's 0.1 ms resolution), as JSON.
 */
import type { AgentRedis } from '../client.js'
import { JOB_RECORD_LIMITS, type JobRecord } from '../protocol/index.js'
import { horizonKeys } from '../layouts/index.js'
import { Batch } from '../queues/pipeline.js'
import { readHashes, type HashRead } from '../queues/hashes.js'
import { boundedJson, numberOf, reasonText, span, stackText } from './job-fields.js'
import type { ArchiveSource, RecordContext, SourceBatch } from './source.js'

/** Ids read per set and call. */
export const HORIZON_JOBS_PER_READ = 200
const BOUNDARY_IDS = 200

interface SetCursor {
  /** the newest finish time read (seconds, as Horizon scores it, sign dropped) */
  at: number
  ids: string[]
}

interface HorizonCursor {
  completed: SetCursor
  failed: SetCursor
}

const SMALL = ['queue', 'name', 'status', 'reserved_at', 'completed_at', 'failed_at', 'created_at'] as const
const BIG = ['payload', 'exception'] as const

export function createHorizonSource(redis: AgentRedis, queue: string, horizonPrefix: string, id: string, options: { jobsPerRead?: number } = {}): ArchiveSource {
  const keys = horizonKeys(horizonPrefix)
  const count = options.jobsPerRead ?? HORIZON_JOBS_PER_READ

  async function read(stored: string | null, context: RecordContext): Promise<SourceBatch> {
    const cursor = parseCursor(stored)
    const sets = [
      { state: 'completed' as const, key: keys.completedJobs, from: cursor.completed },
      { state: 'failed' as const, key: keys.failedJobs, from: cursor.failed },
    ]
    const ranges = new Batch(redis)
    // scores are minus the time: from the cursor's time towards newer, oldest first
    const at = sets.map((set) => ranges.add(set.key, (p) => p.zrevrangebyscore(set.key, -set.from.at, '-inf', 'WITHSCORES', 'LIMIT', 0, count + set.from.ids.length)))
    const replies = await ranges.run()
    const next: HorizonCursor = { completed: cursor.completed, failed: cursor.failed }
    const wanted: { state: 'completed' | 'failed'; id: string; at: number }[] = []
    let more = false
    sets.forEach((set, n) => {
      const reply = replies[at[n]!]
      if (!reply?.ok || !Array.isArray(reply.value)) return
      const flat = reply.value as unknown[]
      more ||= flat.length / 2 >= count + set.from.ids.length
      let newest = set.from
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const jobId = flat[i]
        const time = -Number(flat[i + 1])
        if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > JOB_RECORD_LIMITS.id || !Number.isFinite(time)) continue
        if (time === set.from.at && set.from.ids.includes(jobId)) continue
        wanted.push({ state: set.state, id: jobId, at: time })
        newest = time === newest.at ? { at: time, ids: [...newest.ids, jobId].slice(-BOUNDARY_IDS) } : { at: time, ids: [jobId] }
      }
      next[set.state] = newest
    })
    const batch: SourceBatch = { records: [], cursor: JSON.stringify(next), more }
    if (wanted.length === 0) return batch
    const hashes = await readHashes(
      redis,
      wanted.map((job) => ({ key: keys.job(job.id), small: SMALL, big: BIG })),
    )
    wanted.forEach((job, n) => {
      const record = horizonRecord(queue, job, hashes[n] ?? null, context)
      if (record) batch.records.push(record)
    })
    return batch
  }

  return { id, queue, read }
}

function horizonRecord(queue: string, job: { state: 'completed' | 'failed'; id: string; at: number }, hash: HashRead | null, context: RecordContext): JobRecord | null {
  if (!hash) return null
  const [jobQueue, name, status, reservedAt, completedAt, failedAt, createdAt] = hash.small
  // an expired hash no longer says its queue; a retried failure is still `failed`
  if (jobQueue !== queue || status !== job.state) return null
  const [payloadField, exception] = hash.big
  const payload = payloadField && 'value' in payloadField ? parseObject(payloadField.value) : null
  const seconds = numberOf(job.state === 'completed' ? completedAt : failedAt) ?? job.at
  const finishedAt = Math.round(seconds * 1000)
  const attempts = numberOf(String(payload?.attempts ?? ''))
  const record: JobRecord = { queue, jobId: job.id, state: job.state, attempt: attempts !== undefined && attempts >= 1 ? Math.floor(attempts) : 1, finishedAt, nodeId: context.nodeId, driver: 'laravel' }
  if (name) record.name = name.slice(0, JOB_RECORD_LIMITS.name)
  if (context.appVersion) record.appVersion = context.appVersion
  const pushed = numberOf(String(payload?.pushedAt ?? payload?.createdAt ?? '')) ?? numberOf(createdAt)
  if (pushed !== undefined) record.addedAt = Math.round(pushed * 1000)
  const reserved = numberOf(reservedAt)
  if (reserved !== undefined) {
    record.startedAt = Math.round(reserved * 1000)
    const duration = span(record.startedAt, finishedAt)
    if (duration !== undefined) record.durationMs = duration
    const wait = span(record.addedAt, record.startedAt)
    if (wait !== undefined) record.waitMs = wait
  }
  if (job.state === 'failed' && exception) {
    const text = 'value' in exception ? exception.value : `[${exception.tooLarge} bytes, too large to read]`
    const reason = reasonText(text.split(/\r?\nStack trace:/)[0]!.trim())
    const stack = stackText(text)
    if (reason) record.failedReason = reason
    if (stack) record.stack = stack
  }
  if (payload) {
    const data = boundedJson(JSON.stringify(payload.data ?? null), context.redactKeys, JOB_RECORD_LIMITS.data)
    if (data) record.data = data
    const { maxTries, maxExceptions, timeout, backoff, retryUntil, tags, failOnTimeout } = payload
    const opts = boundedJson(JSON.stringify({ maxTries, maxExceptions, timeout, backoff, retryUntil, failOnTimeout, tags }), context.redactKeys, JOB_RECORD_LIMITS.opts)
    if (opts) record.opts = opts
  } else if (payloadField && 'tooLarge' in payloadField) {
    record.data = boundedJson(payloadField, context.redactKeys, JOB_RECORD_LIMITS.data)
  }
  return record
}

function parseObject(raw: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

const EMPTY: HorizonCursor = { completed: { at: 0, ids: [] }, failed: { at: 0, ids: [] } }

function parseCursor(stored: string | null): HorizonCursor {
  const value = stored === null ? null : parseObject(stored)
  if (!value) return EMPTY
  return { completed: setCursor(value.completed), failed: setCursor(value.failed) }
}

function setCursor(value: unknown): SetCursor {
  if (typeof value !== 'object' || value === null) return { at: 0, ids: [] }
  const { at, ids } = value as Record<string, unknown>
  return {
    at: typeof at === 'number' && Number.isFinite(at) && at >= 0 ? at : 0,
    ids: Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string').slice(-BOUNDARY_IDS) : [],
  }
}
