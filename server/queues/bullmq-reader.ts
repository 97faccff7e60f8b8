/**
 * Counts, oldest waiting age and the newest failed jobs of discovered BullMQ queues, read the way
 * BullMQ lays them out (lists `wait` `active` `paused`, sorted sets `delayed` `prioritized`
 * `failed` `completed`, a hash per job). Everything is pipelined: one round trip for every
 * queue's counts, one for the job hashes' small fields and sizes, one for the large fields that
 * fit. A failed job is read once: it is remembered by id and failure time until it leaves the page.
 * Large fields are measured (HSTRLEN) before they are read, so a 50 MB payload never crosses the
 * wire; what is read is cut to the protocol's failed-job limits, like an agent would.
 *
 * Counts mean what PROTOCOL.md says for the SDK's bullmq driver: `waiting` is the `wait` list plus
 * the `prioritized` set (and the legacy `paused` list), all jobs a worker has yet to pick; while the
 * queue is paused (`paused` in its meta hash) those jobs are counted in `paused` instead. A key of
 * the wrong type, or one the console may not read, drops that queue (logged).
 */
import type { Redis } from 'ioredis'
import { FAILED_JOB_LIMITS, type FailedJob } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { bullmqKeys } from '../redis/keys.js'
import type { DiscoveredRef } from './discovery.js'
import { isKeyError, shortReason } from './redis-errors.js'
import { truncate } from './text.js'

export interface BullmqReading {
  waiting: number
  active: number
  delayed: number
  failed: number
  completed: number
  paused: number
  /** completed + failed from BullMQ's metrics counters, when workers keep them */
  processed?: number
  oldestWaitingMs?: number
  failedJobs: FailedJob[]
}

/** a large field longer than this is not read at all (it would be cut to a few KB anyway) */
const FIELD_READ_CAP = 64 * 1024
const COUNTS = ['wait', 'active', 'paused', 'delayed', 'prioritized', 'failed', 'completed'] as const
const COUNT_COMMANDS = { wait: 'llen', active: 'llen', paused: 'llen', delayed: 'zcard', prioritized: 'zcard', failed: 'zcard', completed: 'zcard' } as const
const LARGE_FIELDS = ['data', 'stacktrace', 'failedReason'] as const
/** hashes kept by workers started with the `metrics` option; field `count` only grows */
const METRICS = ['metrics:completed', 'metrics:failed'] as const
/** commands per queue in the first round trip: meta check, counts, oldest waiting id, failed page, metrics */
const PER_QUEUE = 3 + COUNTS.length + METRICS.length

type Reply = [Error | null, unknown]

export function createBullmqReader(redis: Redis, badData: BadDataLog) {
  /** `{ref}|{jobId}|{failedAt}` → the job as read */
  let jobCache = new Map<string, FailedJob>()

  return async function readBullmq(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, BullmqReading>> {
    const result = new Map<DiscoveredRef, BullmqReading>()
    if (refs.length === 0) return result
    const first = redis.pipeline()
    for (const { prefix, queue } of refs) {
      const key = (part: string) => bullmqKeys.part(prefix, queue, part)
      first.hmget(key('meta'), 'version', 'opts.maxLenEvents', 'paused')
      for (const part of COUNTS) first[COUNT_COMMANDS[part]](key(part))
      first.lindex(key('wait'), -1)
      first.zrevrange(key('failed'), 0, FAILED_JOB_LIMITS.page - 1, 'WITHSCORES')
      for (const part of METRICS) first.hget(key(part), 'count')
    }
    const replies = (await first.exec()) ?? []

    interface Pending { ref: DiscoveredRef; reading: BullmqReading; oldestId: string | null; failed: [id: string, at: number][] }
    const pending: Pending[] = []
    refs.forEach((ref, q) => {
      const own = replies.slice(q * PER_QUEUE, (q + 1) * PER_QUEUE) as Reply[]
      const totals = own.splice(PER_QUEUE - METRICS.length)
      const broken = own.find(([error]) => error)?.[0]
      const label = bullmqKeys.part(ref.prefix, ref.queue, 'meta')
      if (broken) {
        if (!isKeyError(broken)) throw broken
        badData.report(label, shortReason(broken))
        return
      }
      const [version, maxLenEvents, pausedFlag] = own[0]![1] as (string | null)[]
      // any `…:meta` hash matches the SCAN; only BullMQ's carries these fields
      if (!(typeof version === 'string' && version.startsWith('bullmq')) && maxLenEvents == null) return
      const counts = Object.fromEntries(COUNTS.map((part, i) => [part, Number(own[1 + i]![1]) || 0])) as Record<(typeof COUNTS)[number], number>
      const oldest = own[1 + COUNTS.length]![1]
      const pairs = own[2 + COUNTS.length]![1] as string[]
      const failed: [string, number][] = []
      for (let i = 0; i + 1 < pairs.length; i += 2) failed.push([pairs[i]!, Number(pairs[i + 1])])
      // a `0:…` entry is the wait-list marker of older BullMQ versions, not a job
      const marker = typeof oldest === 'string' && oldest.startsWith('0:')
      const ready = counts.wait - (marker ? 1 : 0) + counts.prioritized + counts.paused
      const paused = pausedFlag === '1'
      pending.push({
        ref,
        reading: {
          waiting: paused ? 0 : ready,
          active: counts.active,
          delayed: counts.delayed,
          failed: counts.failed,
          completed: counts.completed,
          paused: paused ? ready : 0,
          ...processedOf(totals),
          failedJobs: [],
        },
        oldestId: typeof oldest === 'string' && !marker ? oldest : null,
        failed,
      })
    })

    // second round trip: the oldest waiting job's creation time, and each new failed job's small fields and sizes
    const second = redis.pipeline()
    const unread: { ref: DiscoveredRef; id: string; at: number; cacheKey: string }[] = []
    const nextCache = new Map<string, FailedJob>()
    for (const item of pending) {
      if (item.oldestId !== null) second.hmget(bullmqKeys.job(item.ref.prefix, item.ref.queue, item.oldestId), 'timestamp', 'delay')
      for (const [id, at] of item.failed) {
        const cacheKey = `${item.ref.prefix}|${item.ref.queue}|${id}|${at}`
        if (jobCache.has(cacheKey)) nextCache.set(cacheKey, jobCache.get(cacheKey)!)
        else {
          const jobKey = bullmqKeys.job(item.ref.prefix, item.ref.queue, id)
          second.hmget(jobKey, 'name', 'atm', 'attemptsMade', 'finishedOn')
          for (const field of LARGE_FIELDS) second.hstrlen(jobKey, field)
          unread.push({ ref: item.ref, id, at, cacheKey })
        }
      }
    }
    const secondReplies = second.length > 0 ? ((await second.exec()) ?? []) : []
    let at = 0
    for (const item of pending) {
      if (item.oldestId === null) continue
      // a delayed job starts waiting when its delay ends, not when it was added
      const [created, delay] = ((readOk(secondReplies[at++]) ?? []) as (string | null)[]).map(Number)
      const since = created! + (Number.isFinite(delay) && delay! > 0 ? delay! : 0)
      if (Number.isFinite(since) && since > 0) item.reading.oldestWaitingMs = Math.max(0, now - since)
    }
    const small = unread.map(() => {
      const fields = (readOk(secondReplies[at++]) ?? []) as (string | null)[]
      const sizes = LARGE_FIELDS.map(() => Number(readOk(secondReplies[at++]) ?? 0))
      return { fields, sizes }
    })

    // third round trip: the large fields that are small enough to be worth reading
    const third = redis.pipeline()
    const wanted: { job: number; field: (typeof LARGE_FIELDS)[number] }[] = []
    unread.forEach((job, j) => {
      LARGE_FIELDS.forEach((field, f) => {
        const size = small[j]!.sizes[f]!
        if (size > 0 && size <= FIELD_READ_CAP) {
          third.hget(bullmqKeys.job(job.ref.prefix, job.ref.queue, job.id), field)
          wanted.push({ job: j, field })
        }
      })
    })
    const thirdReplies = third.length > 0 ? ((await third.exec()) ?? []) : []
    const large = unread.map(() => ({}) as Partial<Record<(typeof LARGE_FIELDS)[number], string>>)
    wanted.forEach(({ job, field }, i) => {
      const value = readOk(thirdReplies[i])
      if (typeof value === 'string') large[job]![field] = value
    })
    unread.forEach((job, j) => {
      const { fields, sizes } = small[j]!
      nextCache.set(job.cacheKey, toFailedJob(job.id, job.at, fields, sizes, large[j]!))
    })
    jobCache = nextCache

    for (const item of pending) {
      item.reading.failedJobs = item.failed.flatMap(([id, failedAt]) => {
        const job = nextCache.get(`${item.ref.prefix}|${item.ref.queue}|${id}|${failedAt}`)
        return job ? [job] : []
      })
      result.set(item.ref, item.reading)
    }
    return result
  }
}

/** A reply's value; an error reply (the job vanished in between, a wrong type) reads as nothing. */
function readOk(reply: Reply | undefined): unknown {
  if (!reply || reply[0]) {
    if (reply?.[0] && !isKeyError(reply[0])) throw reply[0]
    return null
  }
  return reply[1]
}

function toFailedJob(id: string, failedAt: number, fields: (string | null)[], sizes: number[], large: Partial<Record<(typeof LARGE_FIELDS)[number], string>>): FailedJob {
  const [name, atm, attemptsMade, finishedOn] = fields
  const job: FailedJob = { id: truncate(id, 256) }
  if (name) job.name = truncate(name, 256)
  const attempts = Number(attemptsMade ?? atm)
  if (Number.isInteger(attempts) && attempts >= 0) job.attemptsMade = attempts
  const when = Number(finishedOn ?? failedAt)
  if (Number.isFinite(when) && when >= 0) job.timestamp = when
  const [dataSize, stackSize, reasonSize] = sizes
  if (large.failedReason !== undefined) job.failedReason = truncate(large.failedReason, FAILED_JOB_LIMITS.reason)
  else if (reasonSize! > 0) job.failedReason = tooLarge(reasonSize!)
  if (large.data !== undefined) job.data = truncate(large.data, FAILED_JOB_LIMITS.data)
  else if (dataSize! > 0) job.data = tooLarge(dataSize!)
  if (large.stacktrace !== undefined) job.stacktrace = stackOf(large.stacktrace)
  else if (stackSize! > 0) job.stacktrace = [tooLarge(stackSize!)]
  return job
}

/** what stands for a field too large to read, worded as the SDK words it (PROTOCOL.md) */
function tooLarge(bytes: number): string {
  return `[${bytes} bytes, too large to show]`
}

/** BullMQ keeps one trace per attempt, as a JSON array; the newest last. */
function stackOf(raw: string): string[] {
  try {
    const parsed: unknown = JSON.parse(raw)
    if (Array.isArray(parsed)) {
      return parsed.filter((entry): entry is string => typeof entry === 'string' && entry !== '').slice(-10).map((entry) => truncate(entry, FAILED_JOB_LIMITS.stack))
    }
  } catch {
    // not JSON: shown as it is below
  }
  return [truncate(raw, FAILED_JOB_LIMITS.stack)]
}

/**
 * Completed plus failed from the metrics counters, as the SDK's bullmq driver reports it: absent
 * when neither exists, and left out when one cannot be read, so the queue's counts still show.
 */
function processedOf(totals: Reply[]): { processed?: number } {
  let sum = 0
  let seen = false
  for (const [error, value] of totals) {
    if (error) return {}
    if (value === null || value === undefined) continue
    const count = Number(value)
    if (!Number.isSafeInteger(count) || count < 0) return {}
    sum += count
    seen = true
  }
  return seen ? { processed: sum } : {}
}
