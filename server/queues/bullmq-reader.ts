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
 * wire; what is read is cut to the protocol's failed-job limits, like an agent would. Every other
 * read that answers text (the meta hash, ids at the head of a list, counters, a job's small fields)
 * goes through ./bounded-read.ts: a string over 4 KB stays in Redis and skips, with its reason,
 * the queue (or the one job) that needed it.
 *
 * What is read and how it is counted (waiting, paused, waiting-children, the rate limit, the oldest
 * waiting age) is the SDK's layout module (`@gravito/quasar/layouts`), which the SDK's own bullmq
 * probe uses: an agent and the console cannot count one queue two ways.
 *
 * A key of the wrong type, or one the console may not read, is reported under its own name: a
 * queue key drops that queue, a job hash drops that job, a metrics counter drops `processed`.
 * Any other error (connection lost, timeout) is thrown.
 */
import type { RedisClient } from '../redis/client.js'
import { FAILED_JOB_LIMITS, type FailedJob } from '@gravito/quasar/protocol'
import {
  BULLMQ_READ_NAMES,
  bullmqJobAgeRead,
  bullmqReads,
  bullmqState,
  bullmqWaitingSince,
  isBullmqMeta,
  oldestWaitingMs,
  BULLMQ_OPTIONAL_READS,
  BULLMQ_TEXT_READS,
  keyRead,
  UNREADABLE,
  type BullmqReadName,
  type BullmqReplies,
} from '@gravito/quasar/layouts'
import type { BadDataLog } from '../collector/bad-data-log.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot, type SlotGroupedBatch } from '../redis/shards.js'
import { readKey, type KeyRead } from '../redis/key-errors.js'
import { bullmqKeys } from '../redis/keys.js'
import { failedJobOf, LARGE_FIELDS, type LargeField } from './bullmq-jobs.js'
import type { DiscoveredRef } from './drivers/contract.js'
import { boundedValue, overCapReason, queueBoundedRead } from './bounded-read.js'

export interface BullmqReading {
  waiting: number
  active: number
  delayed: number
  failed: number
  completed: number
  paused: number
  isPaused: boolean
  waitingChildren: number
  /** ms until the rate limit lifts; absent when the queue is not rate-limited */
  rateLimitedMs?: number
  /** completed + failed from BullMQ's metrics counters, when workers keep them */
  processed?: number
  oldestWaitingMs?: number
  failedJobs: FailedJob[]
}

/** a large field longer than this is not read at all (it would be cut to a few KB anyway) */
const FIELD_READ_CAP = 64 * 1024
/** one queue's first round trip */
interface QueueSlots {
  ref: DiscoveredRef
  reads: Record<BullmqReadName, { key: string; slot: Slot<unknown> }>
  /** the newest failed page, `[id, failedAt, id, failedAt, …]`, bounded */
  failedPage: Slot<unknown>
}

/** a failed job not in the cache: its small fields and the sizes of its large ones, then those that fit */
interface UnreadJob {
  id: string
  failedAt: number
  cacheKey: string
  /** bounded */
  small: Slot<unknown>
  sizes: Record<LargeField, Slot<number>>
  large: Partial<Record<LargeField, Slot<string | null>>>
}

/** a queue read in the first round trip, with what it asked for in the next ones */
interface QueueRead {
  ref: DiscoveredRef
  reading: BullmqReading
  /** bounded */
  nextInLine: { id: string; hash: Slot<unknown> }[]
  /** newest first, as on the failed page */
  failed: ({ cached: FailedJob } | { unread: UnreadJob })[]
}

export function createBullmqReader(redis: RedisClient, badData: BadDataLog) {
  /** `[prefix, queue, jobId, failedAt]` as JSON (names may hold any separator) → the job as read */
  let jobCache = new Map<string, FailedJob>()

  return async function readBullmq(refs: readonly DiscoveredRef[], now: number): Promise<Map<DiscoveredRef, BullmqReading>> {
    const result = new Map<DiscoveredRef, BullmqReading>()
    if (refs.length === 0) return result

    const first = pipelineBySlot(redis)
    const asked = refs.map((ref): QueueSlots => {
      const keys = bullmqKeys(ref.prefix, ref.queue)
      const reads = bullmqReads(keys)
      return {
        ref,
        // text the queue's writer chose is read bounded; counts as they are
        reads: Object.fromEntries(
          BULLMQ_READ_NAMES.map((name) => [name, { key: reads[name].key, slot: BULLMQ_TEXT_READS.has(name) ? queueBoundedRead(first, reads[name]) : queueRead(first, reads[name]) }]),
        ) as QueueSlots['reads'],
        failedPage: queueBoundedRead(first, keyRead(keys.failed, 'ZREVRANGE', '0', String(FAILED_JOB_LIMITS.page - 1), 'WITHSCORES')),
      }
    })
    await first.exec()

    // second round trip: the jobs next in line (their age), and each new failed job's small fields and sizes
    const second = pipelineBySlot(redis)
    const nextCache = new Map<string, FailedJob>()
    const read = asked.flatMap((slots): QueueRead[] => {
      const queue = readQueue(slots)
      if (!queue) return []
      const { ref } = slots
      const keys = bullmqKeys(ref.prefix, ref.queue)
      const job = (id: string) => keys.job(id)
      return [
        {
          ref,
          reading: queue.reading,
          nextInLine: queue.nextInLine.map((id) => ({ id, hash: queueBoundedRead(second, bullmqJobAgeRead(keys, id)) })),
          failed: queue.failed.map(([id, failedAt]) => {
            const cacheKey = JSON.stringify([ref.prefix, ref.queue, id, failedAt])
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
                small: queueBoundedRead(second, keyRead(job(id), 'HMGET', 'name', 'atm', 'attemptsMade', 'finishedOn')),
                sizes: Object.fromEntries(LARGE_FIELDS.map((field) => [field, second.add(job(id), (p) => p.hstrlen(job(id), field))])) as Record<LargeField, Slot<number>>,
                large: {},
              },
            }
          }),
        },
      ]
    })
    await second.exec()

    // third round trip: the large fields that are small enough to be worth reading
    const third = pipelineBySlot(redis)
    for (const queue of read) {
      const oldest = oldestOf(queue, now)
      if (oldest !== undefined) queue.reading.oldestWaitingMs = oldest
      const jobKey = bullmqKeys(queue.ref.prefix, queue.ref.queue).job
      for (const entry of queue.failed) {
        if (!('unread' in entry)) continue
        const job = entry.unread
        for (const field of LARGE_FIELDS) {
          const size = readKey(job.sizes[field], jobKey(job.id), badData)
          if (size.ok && size.value > 0 && size.value <= FIELD_READ_CAP) job.large[field] = third.add(jobKey(job.id), (p) => p.hget(jobKey(job.id), field))
        }
      }
    }
    await third.exec()

    for (const queue of read) {
      const jobKey = bullmqKeys(queue.ref.prefix, queue.ref.queue).job
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

  /** A bounded read's value, or not ok once reported: a key error, or a string over the cap. */
  function readBounded<T>(slot: Slot<unknown>, key: string): KeyRead<T> {
    const reply = readKey(slot, key, badData)
    if (!reply.ok) return reply
    const bounded = boundedValue<T>(reply.value)
    if (bounded.fits) return { ok: true, value: bounded.value }
    badData.report(key, overCapReason(bounded.longest))
    return { ok: false }
  }

  /** The queue's counts and what to read next, or null when it is skipped (reported) or not BullMQ's. */
  function readQueue(slots: QueueSlots): { reading: BullmqReading; nextInLine: string[]; failed: [id: string, failedAt: number][] } | null {
    const meta = readBounded<(string | null)[]>(slots.reads.meta.slot, slots.reads.meta.key)
    if (!meta.ok) return null
    // any `…:meta` hash matches the SCAN; only BullMQ's carries these fields, and another
    // application's keys of other types are none of the console's business
    if (!isBullmqMeta(meta.value)) return null

    const values = {} as Record<BullmqReadName, unknown>
    let readable = true
    // every reply is read before skipping, so each bad key is reported
    for (const name of BULLMQ_READ_NAMES) {
      const { key, slot } = slots.reads[name]
      const reply = BULLMQ_TEXT_READS.has(name) ? readBounded(slot, key) : readKey(slot, key, badData)
      if (reply.ok) values[name] = reply.value
      else if (BULLMQ_OPTIONAL_READS.has(name)) values[name] = UNREADABLE
      else readable = false
    }
    const failedPage = readBounded<string[]>(slots.failedPage, bullmqKeys(slots.ref.prefix, slots.ref.queue).failed)
    if (!readable || !failedPage.ok) return null

    const failed: [string, number][] = []
    for (let i = 0; i + 1 < failedPage.value.length; i += 2) failed.push([failedPage.value[i]!, Number(failedPage.value[i + 1])])
    const { metrics, nextInLine } = bullmqState(values as unknown as BullmqReplies)
    return {
      reading: {
        waiting: metrics.waiting,
        active: metrics.active ?? 0,
        delayed: metrics.delayed ?? 0,
        failed: metrics.failed ?? 0,
        completed: metrics.completed ?? 0,
        paused: metrics.paused ?? 0,
        isPaused: metrics.isPaused ?? false,
        waitingChildren: metrics.waitingChildren ?? 0,
        ...(metrics.rateLimitedMs === undefined ? {} : { rateLimitedMs: metrics.rateLimitedMs }),
        ...(metrics.processed === undefined ? {} : { processed: metrics.processed }),
        failedJobs: [],
      },
      nextInLine,
      failed,
    }
  }

  function oldestOf(queue: QueueRead, now: number): number | undefined {
    const since = queue.nextInLine.map(({ id, hash }) => {
      const fields = readBounded<(string | null)[]>(hash, bullmqKeys(queue.ref.prefix, queue.ref.queue).job(id))
      return fields.ok ? bullmqWaitingSince(fields.value) : undefined
    })
    return oldestWaitingMs(since, now)
  }

  /** The job as read, or null when its hash is of another type or unreadable (reported). */
  function failedJobFrom(job: UnreadJob, key: string): FailedJob | null {
    const small = readBounded<(string | null)[]>(job.small, key)
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

/** one layout read in a slot-grouped pipeline, under the key it touches */
function queueRead<T>(batch: SlotGroupedBatch, read: { readonly key: string; readonly enqueue: Parameters<SlotGroupedBatch['add']>[1] }): Slot<T> {
  return batch.add<T>(read.key, read.enqueue)
}
