/**
 * Finished attempts of one BullMQ queue, from its events stream and its job hashes.
 *
 * The attempt number comes from the job hash's `atm` (attempts made: BullMQ adds one when an
 * attempt ends, failed or not), which is what makes a read after a takeover or a restart right:
 * the stream tells when attempts ended, the hash how many have. A job whose `atm` passed the last
 * attempt this reader wrote gets one record per attempt in between; each is matched, newest
 * first, to the ends seen in the stream for its times. The hash is read after the stream, so it
 * may already count attempts that ended after the batch; matched newest first, those would take
 * the batch's ends. So the stream past the batch is read once more after the hashes, and a job
 * with an end there waits for the next batch, its ends so far kept (BullMQ adds an end's event in
 * the script that counts it: an end the hash counts is always in that read). A job already
 * removed (removeOnComplete/removeOnFail) is recorded from its events.
 */
import type { AgentRedis } from '../client.js'
import { JOB_RECORD_LIMITS, type JobRecord } from '../protocol/index.js'
import { bullmqKeys } from '../layouts/index.js'
import { Batch } from '../queues/pipeline.js'
import { readHashes, type HashRead } from '../queues/hashes.js'
import { attemptEnds, JobMemory, parseEvents, ScratchStates, type Finish, type JobEvents, type JobState } from './bullmq-events.js'
import { boundedJson, numberOf, reasonOfStack, reasonText, span, stackText } from './job-fields.js'
import type { ArchiveSource, RecordContext, SourceBatch } from './source.js'

/** Events read per call: a burst of 200 jobs at most, each hash read bounded (hashes.ts). */
export const EVENTS_PER_READ = 500
/** Pages of the stream read past a batch for ends the hashes already count (see endsAfter). */
const TAIL_PAGES = 4
/** Ends kept for a job that waits for the next batch: newest kept, as they are matched newest first. */
const HELD_ENDS = 64

const STREAM_ID = /^\d{1,20}-\d{1,20}$/
const SMALL = ['name', 'atm', 'attemptsMade', 'ats', 'timestamp', 'processedOn', 'finishedOn'] as const
const BIG = ['failedReason', 'stacktrace', 'data', 'opts', 'returnvalue'] as const

export function createBullmqSource(redis: AgentRedis, queue: string, prefix: string, id: string, options: { eventsPerRead?: number } = {}): ArchiveSource {
  const keys = bullmqKeys(prefix, queue)
  let memory = new JobMemory()
  const count = options.eventsPerRead ?? EVENTS_PER_READ
  /**
   * Full pages read past a batch (endsAfter), by the id they follow: in a backlog they are the
   * next batches. A full page cannot change, since ids only grow; a short one can, so it is never kept.
   */
  let fullPages = new Map<string, unknown[]>()

  async function read(stored: string | null, context: RecordContext): Promise<SourceBatch> {
    // a cursor that is no stream id (written by something else) restarts at the oldest event
    const cursor = stored !== null && STREAM_ID.test(stored) ? stored : null
    const kept = cursor === null ? undefined : fullPages.get(cursor)
    const first = new Batch(redis)
    const range = kept ? -1 : first.add(keys.events, (p) => p.xrange(keys.events, cursor === null ? '-' : `(${cursor}`, '+', 'COUNT', count))
    const oldest = cursor === null ? -1 : first.add(keys.events, (p) => p.xrange(keys.events, '-', '+', 'COUNT', 1))
    const replies = first.size > 0 ? await first.run() : []
    const rangeReply = kept ? { ok: true as const, value: kept } : replies[range]!
    if (!rangeReply.ok) throw new Error(rangeReply.error)
    const { events, lastId } = parseEvents(rangeReply.value)
    const batch: SourceBatch = { records: [], cursor: lastId ?? cursor, more: Array.isArray(rangeReply.value) && rangeReply.value.length >= count }
    if (oldest >= 0 && cursor !== null) {
      const head = replies[oldest]!
      const firstId = head.ok ? parseEvents(head.value).lastId : null
      // BullMQ trims its stream from the oldest end: when even the cursor's entry is gone, the
      // entries right after it may be gone too
      if (firstId !== null && compareIds(firstId, cursor) > 0 && !isSuccessor(cursor, firstId)) {
        batch.gap = `queue ${queue}: BullMQ's events stream was trimmed past the recorder's cursor (${cursor}, oldest now ${firstId}); jobs that finished in between are not recorded`
      }
    }
    if (events.length === 0) return batch

    const jobs = [...attemptEnds(events, memory).values()].map(withHeldEnds).filter((job) => job.finishes.length > 0)
    if (jobs.length === 0) return batch
    const scores = new Batch(redis)
    const completedAt = jobs.map((job) => scores.add(keys.completed, (p) => p.zscore(keys.completed, job.jobId)))
    const [hashes, scoreReplies] = await Promise.all([
      readHashes(
        redis,
        jobs.map((job) => ({ key: keys.job(job.jobId), small: SMALL, big: BIG })),
      ),
      scores.run(),
    ])
    const endedSince = await endsAfter(batch.cursor!)
    jobs.forEach((job, n) => {
      const state = memory.get(job.jobId) ?? { recorded: 0, finishes: 0 }
      const score = scoreReplies[completedAt[n]!]
      const inCompleted = score?.ok === true && score.value !== null
      const hash = hashes[n] ?? null
      const gone = isGone(hash)
      delete state.held
      if (!gone && endedSince.has(job.jobId)) {
        state.held = job.finishes.slice(-HELD_ENDS)
        memory.set(job.jobId, state)
        return
      }
      const records = gone ? fromEvents(queue, job, state, context) : fromHash(queue, job, hash!, state, inCompleted, context)
      state.finishes += job.finishes.length
      memory.set(job.jobId, state)
      batch.records.push(...records)
    })
    return batch
  }

  /** A job's ends held back from an earlier batch come before the ends of this one. */
  function withHeldEnds(job: JobEvents): JobEvents {
    const held = memory.get(job.jobId)?.held
    return held ? { jobId: job.jobId, finishes: [...held, ...job.finishes] } : job
  }

  /**
   * The jobs with an attempt end in the stream after `lastId`, read after the hashes so that
   * every end a hash counts and the batch does not is among them. Bounded: past TAIL_PAGES pages
   * (thousands of events within one read of the hashes) the rest is taken as none.
   */
  async function endsAfter(lastId: string): Promise<Set<string>> {
    const scratch = new ScratchStates(memory)
    const ended = new Set<string>()
    const pages = new Map<string, unknown[]>()
    let from = lastId
    for (let page = 0; page < TAIL_PAGES; page++) {
      const value = fullPages.get(from) ?? (await tailPage(from))
      const { events, lastId: next } = parseEvents(value)
      for (const job of attemptEnds(events, scratch).values()) if (job.finishes.length > 0) ended.add(job.jobId)
      if (next === null || !Array.isArray(value) || value.length < count) break
      pages.set(from, value)
      from = next
    }
    fullPages = pages
    return ended
  }

  async function tailPage(after: string): Promise<unknown> {
    const tail = new Batch(redis)
    tail.add(keys.events, (p) => p.xrange(keys.events, `(${after}`, '+', 'COUNT', count))
    const [reply] = await tail.run()
    if (!reply?.ok) throw new Error(reply?.error ?? 'no reply from the events stream')
    return reply.value
  }

  return {
    id,
    queue,
    read,
    reset() {
      memory = new JobMemory()
      fullPages = new Map()
    },
  }
}

function isGone(hash: HashRead | null): boolean {
  return hash === null || hash.small.every((value) => value === null)
}

/** A removed job: one record per attempt end in the stream, numbered after those already seen. */
function fromEvents(queue: string, job: JobEvents, state: JobState, context: RecordContext): JobRecord[] {
  const records: JobRecord[] = []
  job.finishes.forEach((finish, n) => {
    const attempt = state.finishes + n + 1
    if (attempt <= state.recorded) return
    const record = base(queue, job.jobId, finish.kind === 'completed' ? 'completed' : 'failed', attempt, finish.at, context)
    if (finish.startedAt !== undefined) {
      record.startedAt = finish.startedAt
      record.durationMs = span(finish.startedAt, finish.at)
    }
    const reason = reasonText(finish.failedReason)
    if (reason && record.state === 'failed') record.failedReason = reason
    if (finish.kind === 'completed') record.result = boundedJson(finish.returnvalue, context.redactKeys, JOB_RECORD_LIMITS.result)
    records.push(clean(record))
    state.recorded = attempt
  })
  return records
}

function fromHash(queue: string, job: JobEvents, hash: HashRead, state: JobState, inCompleted: boolean, context: RecordContext): JobRecord[] {
  const [name, atm, attemptsMade, ats, timestamp, processedOn, finishedOn] = hash.small
  const [failedReason, stacktrace, data, opts, returnvalue] = hash.big
  const made = numberOf(atm ?? attemptsMade)
  if (made === undefined || made < 1) return []
  const attempts = Math.floor(made)
  const known = state.recorded > 0 || state.finishes > 0 || state.added === true
  const from = known ? state.recorded : Math.max(0, attempts - job.finishes.length)
  if (attempts <= from) return []

  const finishedAt = numberOf(finishedOn)
  // `ats` counts starts, a stalled attempt's restart too: more starts than attempts may mean a
  // stall, so it only decides whether `processedOn` is the newest attempt's start. A finished job
  // has `finishedOn` until it is retried by hand, which deletes it.
  const started = numberOf(ats)
  const isFinal = finishedAt !== undefined
  const lastCompleted = isFinal && inCompleted
  const failedCount = lastCompleted ? attempts - 1 : attempts
  const traces = parseTraces(stacktrace && 'value' in stacktrace ? stacktrace.value : undefined)
  const addedAt = numberOf(timestamp)
  const parsedOpts = optsDelay(opts && 'value' in opts ? opts.value : undefined)
  const boundedData = boundedJson(data ?? undefined, context.redactKeys, JOB_RECORD_LIMITS.data)
  const boundedOpts = boundedJson(opts ?? undefined, context.redactKeys, JOB_RECORD_LIMITS.opts)

  const records: JobRecord[] = []
  for (let attempt = from + 1; attempt <= attempts; attempt++) {
    const index = job.finishes.length - 1 - (attempts - attempt)
    const finish: Finish | undefined = index >= 0 ? job.finishes[index] : undefined
    const previous: Finish | undefined = index >= 1 ? job.finishes[index - 1] : undefined
    const last = attempt === attempts
    const completed = last && lastCompleted
    const ended = last && isFinal ? finishedAt : (finish?.at ?? context.now())
    const record = base(queue, job.jobId, completed ? 'completed' : 'failed', attempt, ended, context)
    if (name) record.name = name
    if (addedAt !== undefined) record.addedAt = addedAt
    const startedAt = finish?.startedAt ?? (last && (started === undefined || started <= attempts) ? numberOf(processedOn) : undefined)
    if (startedAt !== undefined) {
      record.startedAt = startedAt
      record.durationMs = span(startedAt, ended)
      const readyAt = attempt === 1 ? (addedAt !== undefined ? addedAt + parsedOpts : undefined) : (previous?.dueAt ?? previous?.at)
      record.waitMs = span(readyAt, startedAt) ?? (readyAt !== undefined ? 0 : undefined)
    }
    if (!completed) {
      const trace = traces[traces.length - 1 - (failedCount - attempt)]
      record.stack = stackText(trace)
      const hashReason = failedReason ? ('value' in failedReason ? failedReason.value : `[${failedReason.tooLarge} bytes, too large to read]`) : undefined
      record.failedReason = reasonText(last ? (hashReason ?? finish?.failedReason) : (finish?.failedReason ?? reasonOfStack(trace)))
    } else {
      record.result = boundedJson(returnvalue ?? finish?.returnvalue, context.redactKeys, JOB_RECORD_LIMITS.result)
    }
    record.data = boundedData
    record.opts = boundedOpts
    records.push(clean(record))
  }
  state.recorded = attempts
  return records
}

function base(queue: string, jobId: string, state: 'completed' | 'failed', attempt: number, finishedAt: number, context: RecordContext): JobRecord {
  const record: JobRecord = { queue, jobId, state, attempt, finishedAt, nodeId: context.nodeId, driver: 'bullmq' }
  if (context.appVersion) record.appVersion = context.appVersion
  return record
}

/** Drops the fields left undefined, so the record matches its schema exactly. */
function clean(record: JobRecord): JobRecord {
  for (const key of Object.keys(record) as (keyof JobRecord)[]) if (record[key] === undefined) delete record[key]
  return record
}

function parseTraces(raw: string | undefined): string[] {
  if (!raw) return []
  try {
    const value: unknown = JSON.parse(raw)
    return Array.isArray(value) ? value.map((trace) => (typeof trace === 'string' ? trace : '')) : []
  } catch {
    return []
  }
}

/** The job's first delay (opts.delay), so the first attempt's wait starts when it became due. */
function optsDelay(raw: string | undefined): number {
  if (!raw) return 0
  try {
    const value: unknown = JSON.parse(raw)
    const delay = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).delay : undefined
    return typeof delay === 'number' && Number.isFinite(delay) && delay > 0 ? delay : 0
  } catch {
    return 0
  }
}

function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((part) => BigInt(part))
  const [bm = 0n, bs = 0n] = b.split('-').map((part) => BigInt(part))
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1
}

/** Whether `next` is the id right after `id` within the same millisecond (nothing can be between). */
function isSuccessor(id: string, next: string): boolean {
  const [ms, seq] = id.split('-')
  return next === `${ms}-${BigInt(seq ?? '0') + 1n}`
}
