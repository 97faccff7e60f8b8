/**
 * How a BullMQ queue's jobs are listed by state and read one by one, for the SDK's LIST_JOBS
 * answers and the console's direct reads of discovered queues alike: which key holds each state
 * and in what order BullMQ's own `getJobs` returns it (lists from the head, where LPUSH puts the
 * newest; sorted sets from the highest score), which hash fields make a row, and how a job's log
 * is cut inside Redis so a huge line never crosses the wire.
 */
import { boundJobData, cutText, JOB_RECORD_LIMITS, LIST_JOBS_LOG_LINE_CHARS, LIST_JOBS_LOG_LINES, type ListedJob, type ListJobState } from '../protocol/index.js'
import type { BullmqKeys } from './keys.js'

type StateKey = 'wait' | 'paused' | 'active' | 'delayed' | 'prioritized' | 'waitingChildren' | 'completed' | 'failed'

/** Where BullMQ keeps each state, and whether it is a list or a sorted set. */
export const BULLMQ_STATE_KEYS: Record<ListJobState, { key: StateKey; type: 'list' | 'zset' }> = {
  waiting: { key: 'wait', type: 'list' },
  paused: { key: 'paused', type: 'list' },
  active: { key: 'active', type: 'list' },
  delayed: { key: 'delayed', type: 'zset' },
  prioritized: { key: 'prioritized', type: 'zset' },
  'waiting-children': { key: 'waitingChildren', type: 'zset' },
  completed: { key: 'completed', type: 'zset' },
  failed: { key: 'failed', type: 'zset' },
}

export function bullmqStateKey(keys: BullmqKeys, state: ListJobState): { key: string; type: 'list' | 'zset' } {
  const { key, type } = BULLMQ_STATE_KEYS[state]
  return { key: keys[key], type }
}

/** the hash fields a row needs; all small */
export const BULLMQ_ROW_FIELDS = ['name', 'timestamp', 'processedOn', 'finishedOn', 'attemptsMade', 'atm'] as const
/** the fields a job's detail reads once measured: they may be megabytes */
export const BULLMQ_DETAIL_FIELDS = ['data', 'opts', 'returnvalue', 'stacktrace', 'failedReason'] as const
export type BullmqDetailField = (typeof BULLMQ_DETAIL_FIELDS)[number]

/** a row's failure reason is one line of a list */
export const BULLMQ_ROW_REASON_CHARS = 512

// KEYS: the log list. ARGV: lines, chars. {total, line…}, each line cut inside Redis.
export const BULLMQ_LOG_TAIL = `
local total = redis.call('LLEN', KEYS[1])
local lines = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)
local chars = tonumber(ARGV[2])
for i, line in ipairs(lines) do
  if #line > chars then lines[i] = string.sub(line, 1, chars) .. '… [' .. #line .. ' bytes]' end
end
table.insert(lines, 1, total)
return lines`
export const BULLMQ_LOG_TAIL_ARGS = [LIST_JOBS_LOG_LINES, LIST_JOBS_LOG_LINE_CHARS] as const

/** The job's log list: `{prefix}:{queue}:{id}:logs`. */
export function bullmqLogsKey(keys: BullmqKeys, jobId: string): string {
  return `${keys.job(jobId)}:logs`
}

function numberOf(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined || raw === '') return null
  const value = Number(raw)
  return Number.isFinite(value) && value >= 0 ? value : null
}

/** BullMQ 3+ scores a delayed job `due * 0x1000 + counter`; older versions scored it `due`. */
export function bullmqDueAt(score: number): number | null {
  if (!Number.isFinite(score) || score < 0) return null
  return score > 1e14 ? Math.floor(score / 0x1000) : score
}

/** A row from the hash's BULLMQ_ROW_FIELDS; null when the hash is gone (every field absent). */
export function bullmqJobRow(id: string, state: ListJobState, fields: readonly (string | null)[], score: number | null): ListedJob | null {
  if (fields.every((value) => value === null || value === undefined)) return null
  const [name, timestamp, processedOn, finishedOn, attemptsMade, atm] = fields
  const attempts = numberOf(attemptsMade ?? atm)
  const job: ListedJob = {
    id: cutText(id, JOB_RECORD_LIMITS.id, '…'),
    name: name ? cutText(name, JOB_RECORD_LIMITS.name, '…') : null,
    state,
    attemptsMade: attempts === null ? null : Math.floor(attempts),
    addedAt: numberOf(timestamp),
    startedAt: numberOf(processedOn),
    finishedAt: numberOf(finishedOn),
  }
  if (state === 'delayed' && score !== null) job.dueAt = bullmqDueAt(score)
  return job
}

/** When the job is in no state key (it moved between two reads), its hash says roughly where it is. */
export function bullmqGuessState(fields: readonly (string | null)[]): ListJobState {
  const [, , processedOn, finishedOn] = fields
  if (finishedOn) return 'completed'
  if (processedOn) return 'active'
  return 'waiting'
}

/** A JSON field bounded and redacted again (no writer is trusted); text that is not JSON is kept as a bounded string. */
export function boundedJsonField(raw: string | null, maxChars: number): string | null {
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
export function bullmqStacks(raw: string | null): string[] {
  if (raw === null) return []
  try {
    const parsed: unknown = JSON.parse(raw)
    if (Array.isArray(parsed)) {
      return parsed
        .filter((entry): entry is string => typeof entry === 'string' && entry !== '')
        .slice(-10)
        .map((entry) => cutText(entry, JOB_RECORD_LIMITS.stack, '…'))
    }
  } catch {
    // not JSON: shown as it is below
  }
  return [cutText(raw, JOB_RECORD_LIMITS.stack, '…')]
}

/** The log script's reply as lines, newest last. */
export function bullmqLogLines(reply: unknown): string[] {
  if (!Array.isArray(reply)) return []
  return reply.slice(1, LIST_JOBS_LOG_LINES + 1).map((line) => cutText(String(line), LIST_JOBS_LOG_LINE_CHARS + 32, '…'))
}

export function tooLargeText(bytes: number): string {
  return `[${bytes} bytes, too large to show]`
}
