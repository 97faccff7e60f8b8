/**
 * BullMQ probe: reads BullMQ's keys directly (two pipelined round trips, no scripts), so the SDK
 * needs no bullmq dependency and works with any BullMQ 5/6 queue in the app's Redis. What is read
 * and how it is counted (waiting, paused, waiting-children, rate limit, the oldest waiting age)
 * is the shared layout module's (../layouts/bullmq.ts), which the console's discovery uses too.
 */
import type { AgentRedis } from '../client.js'
import { FAILED_JOB_LIMITS, jobIdSchema, type FailedJob, type SnapshotQueue } from '../protocol/index.js'
import type { QueueProbe } from './probe.js'
import { bullmqJobAgeRead, bullmqKeys, bullmqReads, bullmqState, bullmqWaitingSince, oldestWaitingMs, BULLMQ_OPTIONAL_READS, UNREADABLE, type BullmqReadName, type BullmqReplies, type Read } from '../layouts/index.js'
import { Batch, countOf, valueOf } from './pipeline.js'
import { BULLMQ_DELETE, BULLMQ_RETRY, bullmqScriptError } from './bullmq-scripts.js'
import { runScript } from './scripts.js'
import { bigText, readHashes, type HashRead } from './hashes.js'
import { clip, clipStack, ID_LIMIT, NAME_LIMIT, toCount, toNumber } from './limits.js'
import { createBullmqJobReader } from './bullmq-jobs.js'

export interface BullmqProbeOptions {
  redis: AgentRedis
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
  const reads = Object.entries(bullmqReads(keys)) as [BullmqReadName, Read][]

  async function probe(): Promise<SnapshotQueue> {
    const first = new Batch(redis)
    const at = reads.map(([field, read]) => [field, first.add(read.key, read.enqueue)] as const)
    const failedIds = failedPageSize > 0 ? first.add(keys.failed, (p) => p.zrevrange(keys.failed, 0, failedPageSize - 1)) : -1
    const replies = await first.run()
    const values = {} as Record<BullmqReadName, unknown>
    for (const [field, index] of at) {
      const reply = replies[index]
      values[field] = BULLMQ_OPTIONAL_READS.has(field) && reply && !reply.ok ? UNREADABLE : valueOf(reply)
    }
    const state = bullmqState(values as unknown as BullmqReplies)
    const failed = failedIds >= 0 ? stringList(valueOf(replies[failedIds])).filter(isJobId) : []
    const nextInLine = state.nextInLine.filter(isJobId)

    const second = new Batch(redis)
    for (const id of nextInLine) {
      const read = bullmqJobAgeRead(keys, id)
      second.add(read.key, read.enqueue)
    }
    const [ages, hashes] = await Promise.all([
      second.run(),
      readHashes(
        redis,
        failed.map((id) => ({ key: keys.job(id), small: SMALL_FIELDS, big: BIG_FIELDS })),
      ),
    ])

    const entry: SnapshotQueue = { name, prefix: options.prefix, driver: 'bullmq', metrics: state.metrics }
    const since = ages.map((reply) => (reply.ok && Array.isArray(reply.value) ? bullmqWaitingSince(reply.value as (string | null)[]) : undefined))
    const oldest = oldestWaitingMs(since, now())
    if (oldest !== undefined) entry.oldestWaitingMs = oldest
    if (failedPageSize > 0) {
      entry.failedJobs = failed.flatMap((id, n) => {
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

  const jobs = createBullmqJobReader(redis, keys)

  return {
    name,
    driver: 'bullmq',
    probe,
    listJobs: jobs.listJobs,
    async getJob(jobId) {
      return jobs.getJob(checkedJobId(jobId))
    },
    async retryJob(jobId) {
      const id = checkedJobId(jobId)
      await act(BULLMQ_RETRY, [keys.job(id), keys.events, keys.failed, keys.wait, keys.meta, keys.active, keys.marker, keys.prioritized, keys.priorityCounter], [id], id)
    },
    async deleteJob(jobId) {
      const id = checkedJobId(jobId)
      await act(BULLMQ_DELETE, [keys.job(id), keys.failed, keys.events, keys.meta], [id, keys.base], id)
    },
    // BullMQ scores the failed set by finishedOn: a job that fails again during a queue-wide
    // command scores after `failedBefore` and is left for the next one, so the paging ends
    async failedPage(failedBefore, offset, limit) {
      const page = new Batch(redis)
      const ids = page.add(keys.failed, (p) => p.zrangebyscore(keys.failed, '-inf', failedBefore, 'LIMIT', offset, limit))
      const total = page.add(keys.failed, (p) => p.zcount(keys.failed, '-inf', failedBefore))
      const replies = await page.run()
      // unfiltered: an id the actions refuse stays in the set, and the caller steps over it as an error
      return { ids: stringList(valueOf(replies[ids])), total: countOf(replies[total]) }
    },
  }
}

function checkedJobId(jobId: unknown): string {
  const parsed = jobIdSchema.safeParse(jobId)
  if (!parsed.success) throw new Error('job id must be a string of 1 to 256 characters')
  return parsed.data
}

/** BullMQ 4 left `0:…` markers in `wait`; they are not jobs. */
function isJobId(id: string): boolean {
  return id.length > 0 && id.length <= ID_LIMIT && !id.startsWith('0:')
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
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
