/**
 * Counts, oldest waiting age and the newest failed jobs of discovered BullMQ queues, read the way
 * BullMQ lays them out (lists `wait` `active` `paused`, sorted sets `delayed` `prioritized`
 * `failed` `completed`, a hash per job). Three round trips in all, whatever the number of queues:
 * every queue's counts; the job hashes' small fields and sizes; the large fields that fit. Each
 * command is a batch slot kept beside the queue or job that asked for it (../redis/batch.ts), so a
 * queue with more failed jobs than its neighbour can never shift their replies.
 *
 * A failed job is read once: it is remembered by id and failure time until it leaves the page.
 * Large fields are measured (HSTRLEN) before they are read, so a 50 MB payload never crosses the
 * wire; what is read is cut to the protocol's failed-job limits, like an agent would.
 *
 * Counts mean what PROTOCOL.md says for the SDK's bullmq driver: `waiting` is the `wait` list plus
 * the `prioritized` set (and the legacy `paused` list), all jobs a worker has yet to pick; while the
 * queue is paused (`paused` in its meta hash) those jobs are counted in `paused` instead. Flow
 * parents waiting for their children (`waiting-children`) are in no count. The oldest waiting age
 * is the SDK's too: the oldest of the jobs next in line (tail of `wait` and `paused`, head of
 * `prioritized`).
 *
 * A key of the wrong type, or one the console may not read, is reported under its own name: a
 * queue key drops that queue, a job hash drops that job, a metrics counter drops `processed`.
 * Any other error (connection lost, timeout) is thrown.
 */
import type { Redis } from 'ioredis'
import { FAILED_JOB_LIMITS, type FailedJob } from '@gravito/quasar/protocol'
import type { BadDataLog } from '../collector/bad-data-log.js'
import { createBatch, type Slot } from '../redis/batch.js'
import { readKey, type KeyRead } from '../redis/key-errors.js'
import { bullmqKeys } from '../redis/keys.js'
import { failedJobOf, LARGE_FIELDS, type LargeField } from './bullmq-jobs.js'
import type { DiscoveredRef } from './discovery.js'

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
type Count = (typeof COUNTS)[number]
const COUNT_COMMANDS = { wait: 'llen', active: 'llen', paused: 'llen', delayed: 'zcard', prioritized: 'zcard', failed: 'zcard', completed: 'zcard' } as const
/** hashes kept by workers started with the `metrics` option; field `count` only grows */
const METRICS = ['metrics:completed', 'metrics:failed'] as const

/** one queue's first round trip */
interface QueueSlots {
  ref: DiscoveredRef
  meta: Slot<(string | null)[]>
  counts: Record<Count, Slot<number>>
  waitTail: Slot<string | null>
  pausedTail: Slot<string | null>
  prioritizedHead: Slot<string[]>
  /** the newest failed page, `[id, failedAt, id, failedAt, …]` */
  failedPage: Slot<string[]>
  totals: Slot<string | null>[]
}

/** a failed job not in the cache: its small fields and the sizes of its large ones, then those that fit */
interface UnreadJob {
  id: string
  failedAt: number
  cacheKey: string
  small: Slot<(string | null)[]>
  sizes: Record<LargeField, Slot<number>>
  large: Partial<Record<LargeField, Slot<string | null>>>
}

/** a queue read in the first round trip, with what it asked for in the next ones */
interface QueueRead {
  ref: DiscoveredRef
  reading: BullmqReading
  nextInLine: { id: string; hash: Slot<(string | null)[]> }[]
  /** newest first, as on the failed page */
  failed: ({ cached: FailedJob } | { unread: UnreadJob })[]
}

export function createBullmqReader(redis: Redis, badData: BadDataLog) {
  /** `{prefix}|{queue}|{jobId}|{failedAt}` → the job as read */
  let jobCache = new Map<string, FailedJob>()

  return async function readBullmq(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, BullmqReading>> {
    const result = new Map<DiscoveredRef, BullmqReading>()
    if (refs.length === 0) return result

    const first = createBatch(redis)
    const asked = refs.map((ref): QueueSlots => {
      const key = (part: string) => bullmqKeys.part(ref.prefix, ref.queue, part)
      return {
        ref,
        meta: first.add((p) => p.hmget(key('meta'), 'version', 'opts.maxLenEvents', 'paused')),
        counts: Object.fromEntries(COUNTS.map((part) => [part, first.add((p) => p[COUNT_COMMANDS[part]](key(part)))])) as Record<Count, Slot<number>>,
        waitTail: first.add((p) => p.lindex(key('wait'), -1)),
        pausedTail: first.add((p) => p.lindex(key('paused'), -1)),
        prioritizedHead: first.add((p) => p.zrange(key('prioritized'), 0, 0)),
        failedPage: first.add((p) => p.zrevrange(key('failed'), 0, FAILED_JOB_LIMITS.page - 1, 'WITHSCORES')),
        totals: METRICS.map((part) => first.add((p) => p.hget(key(part), 'count'))),
      }
    })
    await first.exec()

    // second round trip: the jobs next in line (their age), and each new failed job's small fields and sizes
    const second = createBatch(redis)
    const nextCache = new Map<string, FailedJob>()
    const read = asked.flatMap((slots): QueueRead[] => {
      const queue = readQueue(slots)
      if (!queue) return []
      const { ref } = slots
      const job = (id: string) => bullmqKeys.job(ref.prefix, ref.queue, id)
      return [{
        ref,
        reading: queue.reading,
        nextInLine: queue.nextInLine.map((id) => ({ id, hash: second.add((p) => p.hmget(job(id), 'timestamp', 'delay')) })),
        failed: queue.failed.map(([id, failedAt]) => {
          const cacheKey = `${ref.prefix}|${ref.queue}|${id}|${failedAt}`
          const cached = jobCache.get(cacheKey)
          if (cached) {
            nextCache.set(cacheKey, cached)
            return { cached }
          }
          return {
            unread: {
              id,
              failedAt,
              cacheKey,
              small: second.add((p) => p.hmget(job(id), 'name', 'atm', 'attemptsMade', 'finishedOn')),
              sizes: Object.fromEntries(LARGE_FIELDS.map((field) => [field, second.add((p) => p.hstrlen(job(id), field))])) as Record<LargeField, Slot<number>>,
              large: {},
            },
          }
        }),
      }]
    })
    await second.exec()

    // third round trip: the large fields that are small enough to be worth reading
    const third = createBatch(redis)
    for (const queue of read) {
      const oldest = oldestWaitingMs(queue, now)
      if (oldest !== undefined) queue.reading.oldestWaitingMs = oldest
      const jobKey = (id: string) => bullmqKeys.job(queue.ref.prefix, queue.ref.queue, id)
      for (const entry of queue.failed) {
        if (!('unread' in entry)) continue
        const job = entry.unread
        for (const field of LARGE_FIELDS) {
          const size = readKey(job.sizes[field], jobKey(job.id), badData)
          if (size.ok && size.value > 0 && size.value <= FIELD_READ_CAP) job.large[field] = third.add((p) => p.hget(jobKey(job.id), field))
        }
      }
    }
    await third.exec()

    for (const queue of read) {
      const jobKey = (id: string) => bullmqKeys.job(queue.ref.prefix, queue.ref.queue, id)
      queue.reading.failedJobs = queue.failed.flatMap((entry) => {
        if ('cached' in entry) return [entry.cached]
        const job = failedJobFrom(entry.unread, jobKey(entry.unread.id))
        if (job) nextCache.set(entry.unread.cacheKey, job)
        return job ? [job] : []
      })
      result.set(queue.ref, queue.reading)
    }
    jobCache = nextCache
    return result
  }

  /** The queue's counts and what to read next, or null when it is skipped (reported) or not BullMQ's. */
  function readQueue(slots: QueueSlots): { reading: BullmqReading; nextInLine: string[]; failed: [id: string, failedAt: number][] } | null {
    const key = (part: string) => bullmqKeys.part(slots.ref.prefix, slots.ref.queue, part)
    const meta = readKey(slots.meta, key('meta'), badData)
    if (!meta.ok) return null
    const [version, maxLenEvents, pausedFlag] = meta.value
    // any `…:meta` hash matches the SCAN; only BullMQ's carries these fields, and another
    // application's keys of other types are none of the console's business
    if (!(typeof version === 'string' && version.startsWith('bullmq')) && maxLenEvents == null) return null

    const counts = {} as Record<Count, number>
    let readable = true
    for (const part of COUNTS) {
      const count = readKey(slots.counts[part], key(part), badData)
      if (count.ok) counts[part] = Number(count.value) || 0
      else readable = false
    }
    const waitTail = readKey(slots.waitTail, key('wait'), badData)
    const pausedTail = readKey(slots.pausedTail, key('paused'), badData)
    const prioritizedHead = readKey(slots.prioritizedHead, key('prioritized'), badData)
    const failedPage = readKey(slots.failedPage, key('failed'), badData)
    if (!readable || !waitTail.ok || !pausedTail.ok || !prioritizedHead.ok || !failedPage.ok) return null

    const failed: [string, number][] = []
    for (let i = 0; i + 1 < failedPage.value.length; i += 2) failed.push([failedPage.value[i]!, Number(failedPage.value[i + 1])])
    // a `0:…` entry is the wait-list marker of older BullMQ versions, not a job
    const marker = isMarker(waitTail.value)
    const ready = counts.wait - (marker ? 1 : 0) + counts.prioritized + counts.paused
    const paused = pausedFlag === '1'
    const nextInLine = [waitTail.value, pausedTail.value, ...prioritizedHead.value].filter((id): id is string => typeof id === 'string' && id !== '' && !isMarker(id))
    return {
      reading: {
        waiting: paused ? 0 : ready,
        active: counts.active,
        delayed: counts.delayed,
        failed: counts.failed,
        completed: counts.completed,
        paused: paused ? ready : 0,
        ...processedOf(slots.totals.map((slot, i) => readKey(slot, key(METRICS[i]!), badData))),
        failedJobs: [],
      },
      nextInLine: ready > 0 ? nextInLine : [],
      failed,
    }
  }

  /** The oldest of the jobs next in line; a delayed job starts waiting when its delay ends, not when it was added. */
  function oldestWaitingMs(queue: QueueRead, now: number): number | undefined {
    let oldest: number | undefined
    for (const { id, hash } of queue.nextInLine) {
      const fields = readKey(hash, bullmqKeys.job(queue.ref.prefix, queue.ref.queue, id), badData)
      if (!fields.ok) continue
      const [created, delay] = fields.value.map(Number)
      const since = created! + (Number.isFinite(delay) && delay! > 0 ? delay! : 0)
      // a job gone in between reads as zeros
      if (!Number.isFinite(since) || since <= 0) continue
      const age = Math.max(0, now - since)
      oldest = oldest === undefined ? age : Math.max(oldest, age)
    }
    return oldest
  }

  /** The job as read, or null when its hash is of another type or unreadable (reported). */
  function failedJobFrom(job: UnreadJob, key: string): FailedJob | null {
    const small = readKey(job.small, key, badData)
    if (!small.ok) return null
    const sizes = {} as Record<LargeField, number>
    const large: Partial<Record<LargeField, string>> = {}
    for (const field of LARGE_FIELDS) {
      // a size that could not be read was reported in the third round's planning
      const size = job.sizes[field].reply
      if (!size.ok) return null
      sizes[field] = Number(size.value) || 0
      const slot = job.large[field]
      if (!slot) continue
      const value = readKey(slot, key, badData)
      if (!value.ok) return null
      if (typeof value.value === 'string') large[field] = value.value
    }
    return failedJobOf(job.id, job.failedAt, small.value, sizes, large)
  }
}

function isMarker(id: unknown): boolean {
  return typeof id === 'string' && id.startsWith('0:')
}

/**
 * Completed plus failed from the metrics counters, as the SDK's bullmq driver reports it: absent
 * when neither exists, and left out when one cannot be read, so the queue's counts still show.
 */
function processedOf(totals: KeyRead<string | null>[]): { processed?: number } {
  let sum = 0
  let seen = false
  for (const total of totals) {
    if (!total.ok) return {}
    if (total.value === null || total.value === undefined) continue
    const count = Number(total.value)
    if (!Number.isSafeInteger(count) || count < 0) return {}
    sum += count
    seen = true
  }
  return seen ? { processed: sum } : {}
}
