/**
 * Jobs of a discovered BullMQ queue, read on demand and read-only: a page of one state, or one job
 * in full. The order is BullMQ's own `getJobs` default (what its boards show): lists from the head
 * (LPUSH puts the newest there), sorted sets from the highest score. Three round trips at most:
 * the state's count and page of ids; each job's small fields and the sizes of its large ones; the
 * large ones that fit. A field is measured (HSTRLEN) before it is read, so a 10 MB payload never
 * crosses the wire, and the job's log is cut inside Redis by a read-only script (EVAL_RO), so a
 * huge line does not either. The page of ids and each job's small fields go through the bounded
 * read (bounded-read.ts): an id or a name of megabytes, written by anyone with access to this
 * Redis, answers the page with an error or the row with its size instead of crossing the wire.
 *
 * A job whose hash is gone by the time it is read (removed, or its queue obliterated mid-read) is
 * left out of the page: a page may then hold fewer rows than its size, never a row of nothing.
 * A key of another type or one the console may not read answers the page with an `error`.
 */
import { JOB_RECORD_LIMITS } from '@gravito/quasar/protocol'
import {
  BULLMQ_DETAIL_FIELDS,
  BULLMQ_LOG_TAIL,
  BULLMQ_LOG_TAIL_ARGS,
  BULLMQ_ROW_FIELDS,
  BULLMQ_ROW_REASON_CHARS,
  BULLMQ_STATE_KEYS,
  boundedJsonField,
  bullmqGuessState,
  bullmqJobRow,
  bullmqLogLines,
  bullmqLogsKey,
  bullmqStacks,
  bullmqStateKey,
  keyRead,
  tooLargeText,
  type BullmqDetailField,
} from '@gravito/quasar/layouts'
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { bullmqKeys } from '../redis/keys.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJobDetail, type LiveJobPage, type LiveJobState } from './live-jobs.js'
import { truncate } from './text.js'
import { boundedValue, overCapReason, queueBoundedRead } from './bounded-read.js'

/** a row's failure reason is read only when it is this short (a list shows one line of it) */
const ROW_REASON_READ_CAP = 16 * 1024
/** a detail field longer than this is not read: it would be cut to a few KB anyway, and parsing 10 MB blocks for 30 ms */
export const DETAIL_FIELD_READ_CAP = 256 * 1024
/** a list position is looked for among this many entries (LPOS MAXLEN); past it the state is guessed from the hash */
const STATE_SEARCH_DEPTH = 100_000

/** The page's error when a key could not be read; any other failure is thrown. */
class KeyProblem extends Error {}

function valueOf<T>(slot: Slot<T>, key: string): T {
  const reply = slot.reply
  if (reply.ok) return reply.value
  if (isKeyError(reply.error)) throw new KeyProblem(`${key}: ${shortReason(reply.error)}`)
  throw reply.error
}

/** A bounded read's value, or the size of the string that did not fit. */
function boundedOf<T>(slot: Slot<unknown>, key: string): { value: T } | { longest: number } {
  const bounded = boundedValue<T>(valueOf(slot, key))
  return bounded.fits ? { value: bounded.value } : { longest: bounded.longest }
}

/** A job's small fields (BULLMQ_ROW_FIELDS); when one is too long to read, a name that gives its size. */
function rowFields(slot: Slot<unknown>, hash: string): (string | null)[] {
  const read = boundedOf<(string | null)[]>(slot, hash)
  return 'value' in read ? read.value : [tooLargeText(read.longest), ...BULLMQ_ROW_FIELDS.slice(1).map(() => null)]
}

const rowRead = (hash: string) => keyRead(hash, 'HMGET', ...BULLMQ_ROW_FIELDS)

export function createBullmqLiveReader(redis: RedisClient) {
  async function list(prefix: string, queue: string, state: LiveJobState, page: number, pageSize = LIVE_JOBS_PAGE_SIZE): Promise<LiveJobPage> {
    const keys = bullmqKeys(prefix, queue)
    const { key, type } = bullmqStateKey(keys, state)
    const start = (page - 1) * pageSize
    const stop = start + pageSize - 1
    const empty: LiveJobPage = { jobs: [], state, page, pageSize, total: null }
    try {
      const first = pipelineBySlot(redis)
      const total = first.add<number>(key, (p) => (type === 'list' ? p.llen(key) : p.zcard(key)))
      const range = queueBoundedRead(first, type === 'list' ? keyRead(key, 'LRANGE', String(start), String(stop)) : keyRead(key, 'ZREVRANGE', String(start), String(stop), 'WITHSCORES'))
      await first.exec()
      const count = valueOf(total, key)
      const ids: { id: string; score: number | null }[] = []
      const bounded = boundedOf<string[]>(range, key)
      if ('longest' in bounded) throw new KeyProblem(`${key}: ${overCapReason(bounded.longest)}`)
      const reply = bounded.value
      if (type === 'list') for (const id of reply) ids.push({ id, score: null })
      else for (let i = 0; i + 1 < reply.length; i += 2) ids.push({ id: reply[i]!, score: Number(reply[i + 1]) })

      const second = pipelineBySlot(redis)
      const asked = ids.map(({ id, score }) => {
        const hash = keys.job(id)
        return {
          id,
          score,
          hash,
          fields: queueBoundedRead(second, rowRead(hash)),
          reasonSize: state === 'failed' ? second.add<number>(hash, (p) => p.hstrlen(hash, 'failedReason')) : null,
          reason: null as Slot<string | null> | null,
        }
      })
      await second.exec()

      const third = pipelineBySlot(redis)
      for (const job of asked) {
        if (!job.reasonSize) continue
        const size = valueOf(job.reasonSize, job.hash)
        if (size > 0 && size <= ROW_REASON_READ_CAP) job.reason = third.add(job.hash, (p) => p.hget(job.hash, 'failedReason'))
      }
      await third.exec()

      const jobs = asked.flatMap((job) => {
        const row = bullmqJobRow(job.id, state, rowFields(job.fields, job.hash), job.score)
        if (!row) return []
        if (job.reasonSize) {
          const size = valueOf(job.reasonSize, job.hash)
          const reason = job.reason ? valueOf(job.reason, job.hash) : null
          if (typeof reason === 'string') row.failedReason = truncate(reason, BULLMQ_ROW_REASON_CHARS)
          else if (size > 0) row.failedReason = tooLargeText(size)
        }
        return [row]
      })
      return { ...empty, jobs, total: count }
    } catch (error) {
      if (error instanceof KeyProblem) return { ...empty, error: error.message }
      throw error
    }
  }

  /** null when the job hash is gone, or is a key that cannot be read as one */
  async function get(prefix: string, queue: string, jobId: string): Promise<LiveJobDetail | null> {
    try {
      return await readJob(prefix, queue, jobId)
    } catch (error) {
      if (error instanceof KeyProblem) return null
      throw error
    }
  }

  async function readJob(prefix: string, queue: string, jobId: string): Promise<LiveJobDetail | null> {
    const keys = bullmqKeys(prefix, queue)
    const hash = keys.job(jobId)
    const logsKey = bullmqLogsKey(keys, jobId)
    const first = pipelineBySlot(redis)
    const fields = queueBoundedRead(first, rowRead(hash))
    const sizes = Object.fromEntries(BULLMQ_DETAIL_FIELDS.map((field) => [field, first.add<number>(hash, (p) => p.hstrlen(hash, field))])) as Record<BullmqDetailField, Slot<number>>
    const membership = (Object.keys(BULLMQ_STATE_KEYS) as LiveJobState[]).map((state) => {
      const { key, type } = bullmqStateKey(keys, state)
      return { state, key, slot: first.add<unknown>(key, (p) => (type === 'list' ? p.call('LPOS', key, jobId, 'MAXLEN', STATE_SEARCH_DEPTH) : p.zscore(key, jobId))) }
    })
    const logs = first.add<unknown[]>(logsKey, (p) => p.call('EVAL_RO', BULLMQ_LOG_TAIL, 1, logsKey, ...BULLMQ_LOG_TAIL_ARGS))
    await first.exec()

    const small = rowFields(fields, hash)
    if (small.every((value) => value === null)) return null
    // the first state whose key holds the id; a key that cannot be read holds nothing here
    const found = membership.find(({ slot }) => slot.reply.ok && slot.reply.value !== null)
    const state = found?.state ?? bullmqGuessState(small)
    const row = bullmqJobRow(jobId, state, small, found && BULLMQ_STATE_KEYS[state].type === 'zset' ? Number(found.slot.reply.ok ? found.slot.reply.value : NaN) : null)!

    const second = pipelineBySlot(redis)
    const large: Partial<Record<BullmqDetailField, Slot<string | null>>> = {}
    const measured = {} as Record<BullmqDetailField, number>
    for (const field of BULLMQ_DETAIL_FIELDS) {
      measured[field] = valueOf(sizes[field], hash)
      if (measured[field] > 0 && measured[field] <= DETAIL_FIELD_READ_CAP) large[field] = second.add(hash, (p) => p.hget(hash, field))
    }
    await second.exec()
    const text = (field: BullmqDetailField): string | null => {
      const slot = large[field]
      if (slot) return valueOf(slot, hash)
      return measured[field] > 0 ? tooLargeText(measured[field]) : null
    }

    const reason = text('failedReason')
    return {
      ...row,
      failedReason: reason === null ? null : truncate(reason, JOB_RECORD_LIMITS.reason),
      data: boundedJsonField(text('data'), JOB_RECORD_LIMITS.data),
      opts: boundedJsonField(text('opts'), JOB_RECORD_LIMITS.opts),
      result: boundedJsonField(text('returnvalue'), JOB_RECORD_LIMITS.result),
      stacks: bullmqStacks(text('stacktrace')),
      logs: logLines(logs),
    }
  }

  return { list, get }
}

export type BullmqLiveReader = ReturnType<typeof createBullmqLiveReader>

/** The log script's reply; a log that cannot be read is no log. */
function logLines(slot: Slot<unknown[]>): string[] {
  const reply = slot.reply
  if (!reply.ok) {
    if (isKeyError(reply.error)) return []
    throw reply.error
  }
  return bullmqLogLines(reply.value)
}
