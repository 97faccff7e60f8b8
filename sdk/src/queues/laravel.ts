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
import type { AgentRedis } from '../client.js'
import { FAILED_JOB_LIMITS, jobIdSchema, type FailedJob, type SnapshotQueue } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { horizonKeys, LARAVEL_PAGE, LARAVEL_PAYLOAD_PARSE_MAX, laravelKeys, laravelPageRows, laravelPayload, laravelPushedAt, laravelReads, laravelStateKey, laravelUnlistedReason } from '../layouts/index.js'
import { Batch, countOf, valueOf } from './pipeline.js'
import { bigText, readHashes, type HashRead } from './hashes.js'
import { luaScript, runScript } from './scripts.js'
import { clip, ID_LIMIT, MAX_PARSED_PAYLOAD, NAME_LIMIT, toCount, toNumber } from './limits.js'

export interface LaravelProbeOptions {
  redis: AgentRedis
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

/** Horizon's default `trim.pending` (minutes): how long the record of a pushed job lives. */
export const HORIZON_PENDING_JOB_MINUTES = 60
/** At most this many of a retried payload's tags are looked up in Horizon's monitored tags. */
const MAX_TAGS = 50

/**
 * Horizon's retry (RetryFailedJob::handle) as its records show it, in one step: the push of the
 * prepared payload (Laravel's push script), the new job's record as Horizon's StoreJob listener
 * writes it on JobPushed (RedisJobRepository::pushed), and the retry reference on the failed
 * record (storeRetryReference). The failed record stays in `failed_jobs`, as in Horizon. The
 * script first re-checks what the caller read: the job is still a failed job of this queue, its
 * `retried_by` is unchanged (two retries at once push it once) and the previous retry, if any, is
 * no longer waiting or running.
 * KEYS: failed job hash, queue list, notify list, new job hash, recent_jobs, pending_jobs, the
 * previous retry's hash. ARGV: queue name, retried_by as read, payload, new retried_by, new id,
 * microtime, expire-at (s), connection, display name, whether a previous retry is to be checked.
 */
const RETRY = luaScript(
  `local f = redis.call("HMGET", KEYS[1], "status", "queue", "retried_by")
if f[1] ~= "failed" or f[2] ~= ARGV[1] then return 0 end
if (f[3] or "") ~= ARGV[2] then return -1 end
if ARGV[10] == "1" then
  local previous = redis.call("HGET", KEYS[7], "status")
  if previous == "pending" or previous == "reserved" then return -2 end
end
redis.call("RPUSH", KEYS[2], ARGV[3])
redis.call("RPUSH", KEYS[3], 1)
redis.call("ZADD", KEYS[5], "-" .. ARGV[6], ARGV[5])
redis.call("ZADD", KEYS[6], "-" .. ARGV[6], ARGV[5])
redis.call("HSET", KEYS[4], "id", ARGV[5], "connection", ARGV[8], "queue", ARGV[1], "name", ARGV[9], "status", "pending", "payload", ARGV[3], "created_at", ARGV[6], "updated_at", ARGV[6])
redis.call("EXPIREAT", KEYS[4], ARGV[7])
redis.call("HSET", KEYS[1], "retried_by", ARGV[4])
return 1`,
  7,
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
      // one EXISTS per key: on a Cluster the three sit in different slots unless the prefix is tagged
      horizon: [horizon.failedJobs, horizon.masters, horizon.supervisors].map((key) => first.add(key, (p) => p.exists(key))),
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

    if (at.horizon.every((index) => countOf(replies[index]) === 0)) return entry
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
      const hashes = await readHashes(
        redis,
        page.map((id) => ({ key: horizon.job(id), small: ['name', 'failed_at'], big: ['exception', 'payload'] })),
      )
      entry.failedJobs = page.flatMap((id, n) => {
        const job = failedJob(id, hashes[n] ?? null)
        return job ? [job] : []
      })
    }
    return entry
  }

  /** The failed job's record, checked to be a failed job of this queue (Horizon's findFailed). */
  async function failedRecord(jobId: unknown): Promise<{ id: string; fields: (string | null)[] }> {
    const parsed = jobIdSchema.safeParse(jobId)
    if (!parsed.success) throw new Error('job id must be a string of 1 to 256 characters')
    const id = parsed.data
    const fields = await redis.hmget(horizon.job(id), 'status', 'queue', 'payload', 'retried_by', 'connection')
    if (fields[0] !== 'failed') throw new Error(`job ${id} is not failed`)
    if (fields[1] !== name) throw new Error(`job ${id} is not a job of queue ${name}`)
    return { id, fields }
  }

  /** StoreMonitoredTags on JobPushed: a separate step in Horizon too, after the push. */
  async function storeMonitoredTags(retryId: string, payload: Record<string, unknown>, microtime: string): Promise<void> {
    const tags = Array.isArray(payload.tags) ? [...new Set(payload.tags.filter((tag): tag is string => typeof tag === 'string' && tag.length > 0))].slice(0, MAX_TAGS) : []
    if (tags.length === 0) return
    const monitored = await Promise.all(tags.map((tag) => redis.sismember(horizon.monitoring, tag)))
    // one key per tag: a Batch, so on a Cluster each tag's slot gets its own pipeline
    const batch = new Batch(redis)
    tags.forEach((tag, n) => {
      const key = horizon.tag(tag)
      if (monitored[n] === 1) batch.add(key, (p) => p.zadd(key, microtime, retryId))
    })
    await batch.run()
  }

  const pageScript = luaScript(LARAVEL_PAGE, 1)

  return {
    name,
    driver: 'laravel',
    probe,
    // the jobs Laravel keeps in Redis, newest first; failed ones are Horizon's, in its own records
    async listJobs(state, page, pageSize) {
      const where = laravelStateKey(keys, state)
      if (!where) return { state, page, pageSize, total: null, jobs: [], error: laravelUnlistedReason(state) }
      const start = (page - 1) * pageSize
      const reply = await runScript(redis, pageScript, [where.key], [where.type, start, start + pageSize - 1, LARAVEL_PAYLOAD_PARSE_MAX])
      return { state, page, pageSize, ...laravelPageRows(reply, state, where.type, start) }
    },
    async retryJob(jobId) {
      const { id, fields } = await failedRecord(jobId)
      const payload = parseObject(fields[2])
      if (!payload) throw new Error(`job ${id} has a payload that is not a JSON object`)
      const retries = parseArray(fields[3])
      const succeeded = retries.find((retry) => retryField(retry, 'status') === 'completed')
      // Horizon's dashboard offers no retry once one succeeded
      if (succeeded) throw new Error(`job ${id} was already retried successfully (as ${retryField(succeeded, 'id') ?? 'an unknown job'})`)
      const previous = retries.length > 0 ? retryField(retries[retries.length - 1], 'id') : undefined
      const retryId = randomUUID()
      const ms = now()
      const microtime = (ms / 1000).toFixed(4)
      retries.push({ id: retryId, status: 'pending', retried_at: Math.floor(ms / 1000) })
      const prepared = retryPayload(payload, retryId, id, ms / 1000)
      const pushed = await runScript(
        redis,
        RETRY,
        [horizon.job(id), keys.list, keys.notify, horizon.job(retryId), horizon.recentJobs, horizon.pendingJobs, horizon.job(previous ?? retryId)],
        [
          name,
          fields[3] ?? '',
          JSON.stringify(prepared),
          JSON.stringify(retries),
          retryId,
          microtime,
          Math.floor(ms / 1000) + HORIZON_PENDING_JOB_MINUTES * 60,
          fields[4] ?? 'redis',
          typeof payload.displayName === 'string' ? payload.displayName : '',
          previous === undefined ? '0' : '1',
        ],
      )
      if (pushed === -1) throw new Error(`job ${id} was retried by another command at the same time`)
      if (pushed === -2) throw new Error(`job ${id} has a retry (${previous}) still waiting or running`)
      if (pushed !== 1) throw new Error(`job ${id} is not failed`)
      await storeMonitoredTags(retryId, prepared, microtime)
    },
    async deleteJob(jobId) {
      const { id } = await failedRecord(jobId)
      const deleted = await runScript(redis, DELETE, [horizon.failedJobs, horizon.job(id)], [id])
      if (deleted !== 1) throw new Error(`job ${id} is not failed`)
    },
  }
}

function retryField(retry: unknown, field: 'id' | 'status'): string | undefined {
  const value = typeof retry === 'object' && retry !== null ? (retry as Record<string, unknown>)[field] : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * RetryFailedJob::preparePayload (a new id, attempts back to 0, a link to the failed job, the
 * retry deadline moved by the time since the push, or since now without `pushedAt`), then what
 * Horizon's RedisQueue::pushRaw adds through JobPayload::prepare with no job object at hand:
 * type `job`, the payload's own tags, not silenced, `pushedAt` now.
 */
function retryPayload(payload: Record<string, unknown>, retryId: string, failedId: string, seconds: number): Record<string, unknown> {
  const retryUntil = toNumber(payload.retryUntil ?? payload.timeoutAt)
  const pushedAt = toNumber(payload.pushedAt) ?? seconds
  return {
    ...payload,
    id: retryId,
    uuid: retryId,
    attempts: 0,
    retry_of: failedId,
    // PHP's `$retryUntil ? … : null`: a zero deadline is no deadline
    retryUntil: retryUntil ? Math.floor(seconds) + Math.ceil(retryUntil - pushedAt) : null,
    type: 'job',
    tags: Array.isArray(payload.tags) ? payload.tags : [],
    silenced: false,
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
