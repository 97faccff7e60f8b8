/**
 * BullMQ probe: reads BullMQ's keys directly (two pipelined round trips, no scripts), so the SDK
 * needs no bullmq dependency and works with any BullMQ 5/6 queue in the app's Redis.
 *
 * Counts: `waiting` is wait + prioritized (+ the legacy `paused` list); when the queue is paused
 * (BullMQ 5+ keeps its jobs in `wait` and sets `meta.paused`) those jobs are reported as `paused`
 * instead, so waiting and paused never count the same job twice. The oldest waiting age is taken
 * from the job hash `timestamp` (+ `delay`) of the jobs next in line: the tail of `wait` and of
 * `paused`, and the head of `prioritized` (for prioritized jobs that is the next to run, not
 * necessarily the oldest).
 */
import type { Redis } from 'ioredis'
import { FAILED_JOB_LIMITS, jobIdSchema, type FailedJob, type SnapshotQueue } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { bullmqKeys } from './keys.js'
import { Batch, countOf, valueOf, type Reply } from './pipeline.js'
import { BULLMQ_DELETE, BULLMQ_RETRY, bullmqScriptError } from './bullmq-scripts.js'
import { runScript } from './scripts.js'
import { bigText, readHashes, type HashRead } from './hashes.js'
import { clip, clipStack, ID_LIMIT, NAME_LIMIT, toCount, toNumber } from './limits.js'

export interface BullmqProbeOptions {
  redis: Redis
  /** BullMQ's `prefix` option; default `bull` */
  prefix: string
  failedPageSize: number
  now?: () => number
}

const SMALL_FIELDS = ['name', 'atm', 'attemptsMade', 'finishedOn'] as const
const BIG_FIELDS = ['failedReason', 'stacktrace', 'data'] as const

export function createBullmqProbe(name: string, options: BullmqProbeOptions): QueueProbe {
  const { redis, failedPageSize } = options
  const now = options.now ?? Date.now
  const keys = bullmqKeys(options.prefix, name)

  async function probe(): Promise<SnapshotQueue> {
    const first = new Batch(redis)
    const at = {
      wait: first.add(keys.wait, (p) => p.llen(keys.wait)),
      prioritized: first.add(keys.prioritized, (p) => p.zcard(keys.prioritized)),
      active: first.add(keys.active, (p) => p.llen(keys.active)),
      delayed: first.add(keys.delayed, (p) => p.zcard(keys.delayed)),
      failed: first.add(keys.failed, (p) => p.zcard(keys.failed)),
      completed: first.add(keys.completed, (p) => p.zcard(keys.completed)),
      pausedList: first.add(keys.paused, (p) => p.llen(keys.paused)),
      pausedFlag: first.add(keys.meta, (p) => p.hget(keys.meta, 'paused')),
      waitTail: first.add(keys.wait, (p) => p.lindex(keys.wait, -1)),
      pausedTail: first.add(keys.paused, (p) => p.lindex(keys.paused, -1)),
      prioritizedHead: first.add(keys.prioritized, (p) => p.zrange(keys.prioritized, 0, 0)),
      completedTotal: first.add(keys.metricsCompleted, (p) => p.hget(keys.metricsCompleted, 'count')),
      failedTotal: first.add(keys.metricsFailed, (p) => p.hget(keys.metricsFailed, 'count')),
      failedIds: failedPageSize > 0 ? first.add(keys.failed, (p) => p.zrevrange(keys.failed, 0, failedPageSize - 1)) : -1,
    }
    const replies = await first.run()

    const wait = countOf(replies[at.wait]) + countOf(replies[at.prioritized])
    const pausedList = countOf(replies[at.pausedList])
    const isPaused = valueOf(replies[at.pausedFlag]) !== null
    const processed = processedCount(replies[at.completedTotal], replies[at.failedTotal])
    const metrics = {
      waiting: isPaused ? 0 : wait,
      active: countOf(replies[at.active]),
      delayed: countOf(replies[at.delayed]),
      failed: countOf(replies[at.failed]),
      completed: countOf(replies[at.completed]),
      paused: isPaused ? wait + pausedList : pausedList,
      ...(processed !== undefined && { processed }),
    }

    const nextInLine = [
      ...stringList(replies[at.waitTail]),
      ...stringList(replies[at.pausedTail]),
      ...stringList(replies[at.prioritizedHead]),
    ].filter(isJobId)
    const failedIds = at.failedIds >= 0 ? stringList(replies[at.failedIds]).filter(isJobId) : []

    const second = new Batch(redis)
    for (const id of nextInLine) second.add(keys.job(id), (p) => p.hmget(keys.job(id), 'timestamp', 'delay'))
    const [ages, hashes] = await Promise.all([
      second.run(),
      readHashes(redis, failedIds.map((id) => ({ key: keys.job(id), small: SMALL_FIELDS, big: BIG_FIELDS }))),
    ])

    const entry: SnapshotQueue = { name, driver: 'bullmq', metrics }
    const oldest = oldestWaitingMs(ages, now())
    if (oldest !== undefined && wait + pausedList > 0) entry.oldestWaitingMs = oldest
    if (failedPageSize > 0) {
      entry.failedJobs = failedIds.flatMap((id, n) => {
        const job = failedJob(id, hashes[n] ?? null)
        return job ? [job] : []
      })
    }
    return entry
  }

  async function act(script: typeof BULLMQ_RETRY, keyList: string[], args: string[], jobId: string): Promise<void> {
    const error = bullmqScriptError(await runScript(redis, script, keyList, args), jobId)
    if (error) throw error
  }

  return {
    name,
    driver: 'bullmq',
    probe,
    async retryJob(jobId) {
      const id = checkedJobId(jobId)
      await act(
        BULLMQ_RETRY,
        [keys.job(id), keys.events, keys.failed, keys.wait, keys.meta, keys.active, keys.marker, keys.prioritized, keys.priorityCounter],
        [id],
        id,
      )
    },
    async deleteJob(jobId) {
      const id = checkedJobId(jobId)
      await act(BULLMQ_DELETE, [keys.job(id), keys.failed, keys.events, keys.meta], [id, keys.base], id)
    },
  }
}

function checkedJobId(jobId: unknown): string {
  const parsed = jobIdSchema.safeParse(jobId)
  if (!parsed.success) throw new Error('job id must be a string of 1 to 256 characters')
  return parsed.data
}

/**
 * Completed plus failed from BullMQ's metrics counters, present only when workers run with the
 * `metrics` option; one of them alone still counts. A counter that is unreadable (wrong type, not
 * a number) leaves the figure out rather than failing the probe: the counts stand without it.
 */
function processedCount(completed: Reply | undefined, failed: Reply | undefined): number | undefined {
  const totals = [completed, failed].map((reply) => {
    if (!reply?.ok) return null
    return reply.value === null ? undefined : (toCount(reply.value) ?? null)
  })
  if (totals.includes(null) || totals.every((total) => total === undefined)) return undefined
  return totals.reduce<number>((sum, total) => sum + (total ?? 0), 0)
}

/** BullMQ 4 left `0:…` markers in `wait`; they are not jobs. */
function isJobId(id: string): boolean {
  return id.length > 0 && id.length <= ID_LIMIT && !id.startsWith('0:')
}

function stringList(reply: Reply | undefined): string[] {
  if (!reply?.ok) return []
  const { value } = reply
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

function oldestWaitingMs(replies: (Reply | undefined)[], now: number): number | undefined {
  let oldest: number | undefined
  for (const reply of replies) {
    if (!reply?.ok || !Array.isArray(reply.value)) continue
    const [timestamp, delay] = reply.value as unknown[]
    const added = toNumber(timestamp)
    if (added === undefined) continue
    const age = Math.max(0, now - (added + (toNumber(delay) ?? 0)))
    oldest = oldest === undefined ? age : Math.max(oldest, age)
  }
  return oldest
}

/** A failed job from its hash, clipped to the protocol limits; null when the hash is gone or unreadable. */
function failedJob(id: string, hash: HashRead | null): FailedJob | null {
  if (!hash) return null
  const [name, atm, attemptsMade, finishedOn] = hash.small
  const [failedReason, stacktrace, data] = hash.big
  if (name === null && finishedOn === null && !failedReason && !data) return null
  const job: FailedJob = { id }
  if (typeof name === 'string') job.name = clip(name, NAME_LIMIT)
  const reason = bigText(failedReason ?? null)
  if (reason !== undefined) job.failedReason = clip(reason, FAILED_JOB_LIMITS.reason)
  const traces = stacktrace && 'value' in stacktrace ? parseStack(stacktrace.value) : []
  if (traces.length > 0) job.stacktrace = traces
  const attempts = toCount(atm ?? attemptsMade)
  if (attempts !== undefined) job.attemptsMade = attempts
  const failedAt = toNumber(finishedOn)
  if (failedAt !== undefined) job.timestamp = failedAt
  const payload = bigText(data ?? null)
  if (payload !== undefined) job.data = clip(payload, FAILED_JOB_LIMITS.data)
  return job
}

function parseStack(raw: string): string[] {
  try {
    const parsed: unknown = JSON.parse(raw)
    return Array.isArray(parsed) ? clipStack(parsed) : []
  } catch {
    return []
  }
}
