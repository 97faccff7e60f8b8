/**
 * Laravel probe: Laravel's Redis queue keys, plus Horizon's failed jobs when Horizon is present.
 * The counts and the oldest waiting age follow the shared layout module (../layouts/laravel.ts),
 * which the console's discovery uses too.
 *
 * Horizon keeps one `failed_jobs` set for every queue, so the failed count of one queue is found by
 * reading the `queue` field of the newest HORIZON_FAILED_SCAN failed jobs: exact below that many
 * failed jobs in the whole application, a count over the newest ones above it. Without Horizon,
 * Laravel keeps failed jobs in its database, out of reach: `failed` is then absent.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { FAILED_JOB_LIMITS, jobIdSchema, type FailedJob, type SnapshotQueue } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { horizonKeys, laravelKeys, laravelPayload, laravelPushedAt, laravelReads } from '../layouts/index.js'
import { Batch, countOf, valueOf } from './pipeline.js'
import { bigText, readHashes, type HashRead } from './hashes.js'
import { luaScript, runScript } from './scripts.js'
import { clip, ID_LIMIT, MAX_PARSED_PAYLOAD, NAME_LIMIT, toCount, toNumber } from './limits.js'

export interface LaravelProbeOptions {
  redis: Redis
  /** the Laravel Redis connection's key prefix, e.g. `laravel_database_`; default none */
  prefix: string
  /** Horizon's prefix (config `horizon.prefix`); default `laravel_horizon:` */
  horizonPrefix: string
  failedPageSize: number
  now?: () => number
}

export const DEFAULT_HORIZON_PREFIX = 'laravel_horizon:'
/** How many of Horizon's newest failed jobs are read to count one queue's. */
export const HORIZON_FAILED_SCAN = 1000

/**
 * What Horizon's RetryFailedJob + RedisQueue::pushRaw do, made atomic: the ZREM decides, so two
 * retries of one job push it once. The old record stays (with `retried_by`) until Horizon expires it.
 * KEYS: failed_jobs, queue list, notify list, failed job hash. ARGV: job id, payload, retried_by.
 */
const RETRY = luaScript(
  `if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call("RPUSH", KEYS[2], ARGV[2])
redis.call("RPUSH", KEYS[3], 1)
redis.call("HSET", KEYS[4], "retried_by", ARGV[3])
return 1`,
  4,
)

/** Horizon's deleteFailed, atomic. KEYS: failed_jobs, job hash. ARGV: job id. */
const DELETE = luaScript(
  `if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call("DEL", KEYS[2])
return 1`,
  2,
)

export function createLaravelProbe(name: string, options: LaravelProbeOptions): QueueProbe {
  const { redis, failedPageSize } = options
  const now = options.now ?? Date.now
  const keys = laravelKeys(options.prefix, name)
  const horizon = horizonKeys(options.horizonPrefix)

  async function probe(): Promise<SnapshotQueue> {
    const first = new Batch(redis)
    const reads = laravelReads(keys)
    const at = {
      waiting: first.add(reads.waiting.key, reads.waiting.enqueue),
      delayed: first.add(reads.delayed.key, reads.delayed.enqueue),
      active: first.add(reads.active.key, reads.active.enqueue),
      head: first.add(reads.head.key, reads.head.enqueue),
      horizon: first.add(horizon.failedJobs, (p) => p.exists(horizon.failedJobs, horizon.masters, horizon.supervisors)),
      failedIds: first.add(horizon.failedJobs, (p) => p.zrange(horizon.failedJobs, 0, HORIZON_FAILED_SCAN - 1)),
    }
    const replies = await first.run()
    const waiting = countOf(replies[at.waiting])
    const entry: SnapshotQueue = {
      name,
      prefix: options.prefix,
      driver: 'laravel',
      metrics: { waiting, active: countOf(replies[at.active]), delayed: countOf(replies[at.delayed]) },
    }
    const head = valueOf(replies[at.head])
    const payload = typeof head === 'string' ? laravelPayload(head) : null
    const pushedAt = payload ? laravelPushedAt(payload) : undefined
    if (pushedAt !== undefined && waiting > 0) entry.oldestWaitingMs = Math.max(0, now() - pushedAt)

    if (countOf(replies[at.horizon]) === 0) return entry
    const ids = valueOf(replies[at.failedIds])
    const failedIds = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && id.length > 0) : []
    const owners = new Batch(redis)
    for (const id of failedIds) owners.add(horizon.job(id), (p) => p.hmget(horizon.job(id), 'queue', 'status'))
    const ownerReplies = await owners.run()
    const mine = failedIds.filter((_, n) => {
      const reply = ownerReplies[n]
      if (!reply?.ok || !Array.isArray(reply.value)) return false
      const [queue, status] = reply.value as unknown[]
      return queue === name && status === 'failed'
    })
    entry.metrics.failed = mine.length
    if (failedPageSize > 0) {
      const page = mine.slice(0, failedPageSize).filter((id) => id.length <= ID_LIMIT)
      const hashes = await readHashes(redis, page.map((id) => ({ key: horizon.job(id), small: ['name', 'failed_at'], big: ['exception', 'payload'] })))
      entry.failedJobs = page.flatMap((id, n) => {
        const job = failedJob(id, hashes[n] ?? null)
        return job ? [job] : []
      })
    }
    return entry
  }

  /** The failed job's record, checked to be a failed job of this queue. */
  async function failedRecord(jobId: unknown): Promise<{ id: string; fields: (string | null)[] }> {
    const parsed = jobIdSchema.safeParse(jobId)
    if (!parsed.success) throw new Error('job id must be a string of 1 to 256 characters')
    const id = parsed.data
    const [score, fields] = await Promise.all([
      redis.zscore(horizon.failedJobs, id),
      redis.hmget(horizon.job(id), 'status', 'queue', 'payload', 'retried_by'),
    ])
    if (score === null || fields[0] !== 'failed') throw new Error(`job ${id} is not failed`)
    if (fields[1] !== name) throw new Error(`job ${id} is not a job of queue ${name}`)
    return { id, fields }
  }

  return {
    name,
    driver: 'laravel',
    probe,
    async retryJob(jobId) {
      const { id, fields } = await failedRecord(jobId)
      const payload = parseObject(fields[2])
      if (!payload) throw new Error(`job ${id} has a payload that is not a JSON object`)
      const retryId = randomUUID()
      const seconds = now() / 1000
      const retries = parseArray(fields[3])
      retries.push({ id: retryId, status: 'pending', retried_at: Math.floor(seconds) })
      const pushed = await runScript(
        redis,
        RETRY,
        [horizon.failedJobs, keys.list, keys.notify, horizon.job(id)],
        [id, JSON.stringify(retryPayload(payload, retryId, id, seconds)), JSON.stringify(retries)],
      )
      if (pushed !== 1) throw new Error(`job ${id} is not failed`)
    },
    async deleteJob(jobId) {
      const { id } = await failedRecord(jobId)
      const deleted = await runScript(redis, DELETE, [horizon.failedJobs, horizon.job(id)], [id])
      if (deleted !== 1) throw new Error(`job ${id} is not failed`)
    },
  }
}

/**
 * RetryFailedJob::preparePayload: a new id, attempts back to 0, a link to the failed job and the
 * retry deadline moved by the time that has passed; `pushedAt` as Horizon's queue sets on a push.
 */
function retryPayload(payload: Record<string, unknown>, retryId: string, failedId: string, seconds: number): Record<string, unknown> {
  const retryUntil = toNumber(payload.retryUntil ?? payload.timeoutAt)
  const pushedAt = toNumber(payload.pushedAt ?? payload.createdAt)
  return {
    ...payload,
    id: retryId,
    uuid: retryId,
    attempts: 0,
    retry_of: failedId,
    retryUntil: retryUntil !== undefined && pushedAt !== undefined ? Math.floor(seconds) + Math.ceil(retryUntil - pushedAt) : null,
    pushedAt: seconds.toFixed(4),
  }
}

function parseObject(raw: string | null | undefined): Record<string, unknown> | null {
  if (typeof raw !== 'string' || raw.length > MAX_PARSED_PAYLOAD) return null
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

function parseArray(raw: string | null | undefined): unknown[] {
  if (typeof raw !== 'string' || raw.length > MAX_PARSED_PAYLOAD) return []
  try {
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) ? value : []
  } catch {
    return []
  }
}

/**
 * PHP's Throwable::__toString is `Class: message in file:line` then `Stack trace:` and the frames;
 * the reason is what comes before the trace, the whole text is the one stack entry.
 */
function failedJob(id: string, hash: HashRead | null): FailedJob | null {
  if (!hash) return null
  const [name, failedAt] = hash.small
  const [exception, payload] = hash.big
  if (name === null && failedAt === null && !exception && !payload) return null
  const job: FailedJob = { id }
  if (typeof name === 'string') job.name = clip(name, NAME_LIMIT)
  const text = bigText(exception ?? null)
  if (text !== undefined) {
    job.failedReason = clip(text.split(/\r?\nStack trace:/)[0]!.trim(), FAILED_JOB_LIMITS.reason)
    job.stacktrace = [clip(text, FAILED_JOB_LIMITS.stack)]
  }
  const seconds = toNumber(failedAt)
  if (seconds !== undefined) job.timestamp = Math.round(seconds * 1000)
  if (payload && 'value' in payload) {
    const attempts = toCount(parseObject(payload.value)?.attempts)
    if (attempts !== undefined) job.attemptsMade = attempts
  }
  const data = bigText(payload ?? null)
  if (data !== undefined) job.data = clip(data, FAILED_JOB_LIMITS.data)
  return job
}
