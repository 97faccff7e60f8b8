/**
 * Jobs of a discovered BullMQ queue, read on demand and read-only: a page of one state, or one job
 * in full. The order is BullMQ's own `getJobs` default (what its boards show): lists from the head
 * (LPUSH puts the newest there), sorted sets from the highest score. Three round trips at most:
 * the state's count and page of ids; each job's small fields and the sizes of its large ones; the
 * large ones that fit. A field is measured (HSTRLEN) before it is read, so a 10 MB payload never
 * crosses the wire, and the job's log is cut inside Redis by a read-only script (EVAL_RO), so a
 * huge line does not either.
 *
 * A job whose hash is gone by the time it is read (removed, or its queue obliterated mid-read) is
 * left out of the page: a page may then hold fewer rows than its size, never a row of nothing.
 * A key of another type or one the console may not read answers the page with an `error`.
 */
import { boundJobData, JOB_RECORD_LIMITS } from '@gravito/quasar/protocol'
import type { RedisClient } from '../redis/client.js'
import type { Slot } from '../redis/batch.js'
import { pipelineBySlot } from '../redis/shards.js'
import { isKeyError, shortReason } from '../redis/key-errors.js'
import { bullmqKeys } from '../redis/keys.js'
import { LIVE_JOBS_PAGE_SIZE, type LiveJob, type LiveJobDetail, type LiveJobPage, type LiveJobState } from './live-jobs.js'
import { truncate } from './text.js'

type StateKey = 'wait' | 'paused' | 'active' | 'delayed' | 'prioritized' | 'waitingChildren' | 'completed' | 'failed'

/** Where BullMQ keeps each state, and whether it is a list or a sorted set. */
export const BULLMQ_STATE_KEYS: Record<LiveJobState, { key: StateKey; type: 'list' | 'zset' }> = {
  waiting: { key: 'wait', type: 'list' },
  paused: { key: 'paused', type: 'list' },
  active: { key: 'active', type: 'list' },
  delayed: { key: 'delayed', type: 'zset' },
  prioritized: { key: 'prioritized', type: 'zset' },
  'waiting-children': { key: 'waitingChildren', type: 'zset' },
  completed: { key: 'completed', type: 'zset' },
  failed: { key: 'failed', type: 'zset' },
}

/** the hash fields a row needs; all small */
const ROW_FIELDS = ['name', 'timestamp', 'processedOn', 'finishedOn', 'attemptsMade', 'atm', 'delay'] as const
/** the fields the detail reads once measured */
const DETAIL_FIELDS = ['data', 'opts', 'returnvalue', 'stacktrace', 'failedReason'] as const
type DetailField = (typeof DETAIL_FIELDS)[number]

/** a row's failure reason is read only when it is this short (a list shows one line of it) */
const ROW_REASON_READ_CAP = 16 * 1024
const ROW_REASON_CHARS = 512
/** a detail field longer than this is not read: it would be cut to a few KB anyway, and parsing 10 MB blocks for 30 ms */
export const DETAIL_FIELD_READ_CAP = 256 * 1024
/** log lines returned, newest last, and the characters kept of each */
export const LOG_LINES = 100
export const LOG_LINE_CHARS = 2048
/** a list position is looked for among this many entries (LPOS MAXLEN); past it the state is guessed from the hash */
const STATE_SEARCH_DEPTH = 100_000

// KEYS: the log list. ARGV: lines, chars. {total, line…}, each line cut inside Redis.
const LOG_TAIL = `
local total = redis.call('LLEN', KEYS[1])
local lines = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)
local chars = tonumber(ARGV[2])
for i, line in ipairs(lines) do
  if #line > chars then lines[i] = string.sub(line, 1, chars) .. '… [' .. #line .. ' bytes]' end
end
table.insert(lines, 1, total)
return lines`

/** The page's error when a key could not be read; any other failure is thrown. */
class KeyProblem extends Error {}

function valueOf<T>(slot: Slot<T>, key: string): T {
  const reply = slot.reply
  if (reply.ok) return reply.value
  if (isKeyError(reply.error)) throw new KeyProblem(`${key}: ${shortReason(reply.error)}`)
  throw reply.error
}

function numberOf(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined || raw === '') return null
  const value = Number(raw)
  return Number.isFinite(value) && value >= 0 ? value : null
}

/** BullMQ 3+ scores a delayed job `due * 0x1000 + counter`; older versions scored it `due`. */
function dueOf(score: number): number | null {
  if (!Number.isFinite(score) || score < 0) return null
  return score > 1e14 ? Math.floor(score / 0x1000) : score
}

function rowOf(id: string, state: LiveJobState, fields: (string | null)[], score: number | null): LiveJob | null {
  const [name, timestamp, processedOn, finishedOn, attemptsMade, atm] = fields
  // every BullMQ job hash has a `timestamp`: without one the hash is gone
  if (fields.every((value) => value === null)) return null
  const attempts = numberOf(attemptsMade ?? atm)
  const job: LiveJob = {
    id: truncate(id, JOB_RECORD_LIMITS.id),
    name: name ? truncate(name, JOB_RECORD_LIMITS.name) : null,
    state,
    attemptsMade: attempts === null ? null : Math.floor(attempts),
    addedAt: numberOf(timestamp),
    startedAt: numberOf(processedOn),
    finishedAt: numberOf(finishedOn),
  }
  if (state === 'delayed' && score !== null) job.dueAt = dueOf(score)
  return job
}

export function createBullmqLiveReader(redis: RedisClient) {
  async function list(prefix: string, queue: string, state: LiveJobState, page: number, pageSize = LIVE_JOBS_PAGE_SIZE): Promise<LiveJobPage> {
    const keys = bullmqKeys(prefix, queue)
    const { key: which, type } = BULLMQ_STATE_KEYS[state]
    const key = keys[which]
    const start = (page - 1) * pageSize
    const stop = start + pageSize - 1
    const empty: LiveJobPage = { jobs: [], state, page, pageSize, total: null }
    try {
      const first = pipelineBySlot(redis)
      const total = first.add<number>(key, (p) => (type === 'list' ? p.llen(key) : p.zcard(key)))
      const range = first.add<string[]>(key, (p) => (type === 'list' ? p.lrange(key, start, stop) : p.zrevrange(key, start, stop, 'WITHSCORES')))
      await first.exec()
      const count = valueOf(total, key)
      const ids: { id: string; score: number | null }[] = []
      const reply = valueOf(range, key)
      if (type === 'list') for (const id of reply) ids.push({ id, score: null })
      else for (let i = 0; i + 1 < reply.length; i += 2) ids.push({ id: reply[i]!, score: Number(reply[i + 1]) })

      const second = pipelineBySlot(redis)
      const asked = ids.map(({ id, score }) => {
        const hash = keys.job(id)
        return {
          id,
          score,
          hash,
          fields: second.add<(string | null)[]>(hash, (p) => p.hmget(hash, ...ROW_FIELDS)),
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
        const row = rowOf(job.id, state, valueOf(job.fields, job.hash), job.score)
        if (!row) return []
        if (job.reasonSize) {
          const size = valueOf(job.reasonSize, job.hash)
          const reason = job.reason ? valueOf(job.reason, job.hash) : null
          if (typeof reason === 'string') row.failedReason = truncate(reason, ROW_REASON_CHARS)
          else if (size > 0) row.failedReason = `[${size} bytes, too large to show]`
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
    const logsKey = `${hash}:logs`
    const first = pipelineBySlot(redis)
    const fields = first.add<(string | null)[]>(hash, (p) => p.hmget(hash, ...ROW_FIELDS))
    const sizes = Object.fromEntries(DETAIL_FIELDS.map((field) => [field, first.add<number>(hash, (p) => p.hstrlen(hash, field))])) as Record<DetailField, Slot<number>>
    const membership = (Object.entries(BULLMQ_STATE_KEYS) as [LiveJobState, { key: StateKey; type: 'list' | 'zset' }][]).map(([state, { key: which, type }]) => {
      const key = keys[which]
      return { state, key, slot: first.add<unknown>(key, (p) => (type === 'list' ? p.call('LPOS', key, jobId, 'MAXLEN', STATE_SEARCH_DEPTH) : p.zscore(key, jobId))) }
    })
    const logs = first.add<unknown[]>(logsKey, (p) => p.call('EVAL_RO', LOG_TAIL, 1, logsKey, LOG_LINES, LOG_LINE_CHARS))
    await first.exec()

    const small = valueOf(fields, hash)
    if (small.every((value) => value === null)) return null
    // the first state whose key holds the id; a key that cannot be read holds nothing here
    const found = membership.find(({ slot }) => slot.reply.ok && slot.reply.value !== null)
    const state = found?.state ?? guessState(small)
    const row = rowOf(jobId, state, small, found && BULLMQ_STATE_KEYS[state].type === 'zset' ? Number(found.slot.reply.ok ? found.slot.reply.value : NaN) : null)!

    const second = pipelineBySlot(redis)
    const large: Partial<Record<DetailField, Slot<string | null>>> = {}
    const measured = {} as Record<DetailField, number>
    for (const field of DETAIL_FIELDS) {
      measured[field] = valueOf(sizes[field], hash)
      if (measured[field] > 0 && measured[field] <= DETAIL_FIELD_READ_CAP) large[field] = second.add(hash, (p) => p.hget(hash, field))
    }
    await second.exec()
    const text = (field: DetailField): string | null => {
      const slot = large[field]
      if (slot) return valueOf(slot, hash)
      return measured[field] > 0 ? `[${measured[field]} bytes, too large to show]` : null
    }

    const reason = text('failedReason')
    return {
      ...row,
      failedReason: reason === null ? null : truncate(reason, JOB_RECORD_LIMITS.reason),
      data: jsonField(text('data'), JOB_RECORD_LIMITS.data),
      opts: jsonField(text('opts'), JOB_RECORD_LIMITS.opts),
      result: jsonField(text('returnvalue'), JOB_RECORD_LIMITS.result),
      stacks: stacksOf(text('stacktrace')),
      logs: logLines(logs),
    }
  }

  return { list, get }
}

export type BullmqLiveReader = ReturnType<typeof createBullmqLiveReader>

/** When the job is in no state key (it moved between two reads), its hash says roughly where it is. */
function guessState(fields: (string | null)[]): LiveJobState {
  const [, , processedOn, finishedOn] = fields
  if (finishedOn) return 'completed'
  if (processedOn) return 'active'
  return 'waiting'
}

/** A JSON field bounded and redacted again (the console trusts no writer); text that is not JSON is kept as a bounded string. */
function jsonField(raw: string | null, maxChars: number): string | null {
  if (raw === null) return null
  let value: unknown = raw
  try {
    value = JSON.parse(raw)
  } catch {
    // not JSON: bounded as the string it is
  }
  return boundJobData(value, undefined, maxChars)
}

/** BullMQ keeps one trace per failed attempt, as a JSON array, oldest first. */
function stacksOf(raw: string | null): string[] {
  if (raw === null) return []
  try {
    const parsed: unknown = JSON.parse(raw)
    if (Array.isArray(parsed)) {
      return parsed
        .filter((entry): entry is string => typeof entry === 'string' && entry !== '')
        .slice(-10)
        .map((entry) => truncate(entry, JOB_RECORD_LIMITS.stack))
    }
  } catch {
    // not JSON: shown as it is below
  }
  return [truncate(raw, JOB_RECORD_LIMITS.stack)]
}

/** The log script's reply; a log that cannot be read is no log. */
function logLines(slot: Slot<unknown[]>): string[] {
  const reply = slot.reply
  if (!reply.ok) {
    if (isKeyError(reply.error)) return []
    throw reply.error
  }
  return reply.value.slice(1, LOG_LINES + 1).map((line) => truncate(String(line), LOG_LINE_CHARS + 32))
}
