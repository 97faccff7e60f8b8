/**
 * Bounds on what a queue snapshot carries. The protocol caps each field (FAILED_JOB_LIMITS), and
 * the console skips any value over MAX_VALUE_BYTES unread, so a snapshot that grew past it would
 * hide every queue of the service: `fitSnapshot` trims failed-job detail until it fits, and never
 * drops a queue's counts.
 */
import { FAILED_JOB_LIMITS, MAX_VALUE_BYTES, type FailedJob, type QueueSnapshot } from '../protocol/index.js'

/**
 * Under the protocol's 512: a hundred queues all failing must still fit in one heartbeat and one
 * snapshot of at most MAX_VALUE_BYTES.
 */
export const ERROR_LIMIT = 240
export const ID_LIMIT = 256
export const NAME_LIMIT = 256
export const STACK_ENTRIES = 10
/** Default number of failed jobs each queue reports (at most FAILED_JOB_LIMITS.page). */
export const DEFAULT_FAILED_PAGE = 20
/** Payloads longer than this are not parsed to find a timestamp (JSON.parse blocks). */
export const MAX_PARSED_PAYLOAD = 256 * 1024

const ELLIPSIS = '…'

/** Cuts `text` to at most `max` UTF-16 units, marking the cut with `…` and never splitting a pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let end = max - ELLIPSIS.length
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return text.slice(0, end) + ELLIPSIS
}

/** One line, bounded: how a probe error is shown. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return clip(message.replace(/\s+/g, ' ').trim() || 'unknown error', ERROR_LIMIT)
}

/** A finite, non-negative number from a Redis string, or undefined. */
export function toNumber(raw: unknown): number | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined
  if (typeof raw === 'string' && raw.trim() === '') return undefined
  const value = Number(raw)
  return Number.isFinite(value) && value >= 0 ? value : undefined
}

export function toCount(raw: unknown): number | undefined {
  const value = toNumber(raw)
  return value === undefined ? undefined : Math.floor(value)
}

/**
 * Keeps the newest traces (BullMQ stores one per attempt, oldest first) within STACK_ENTRIES and a
 * total of one protocol-sized entry: a job at every protocol maximum would alone outgrow the whole
 * snapshot, so the newest trace wins over older repeats of it.
 */
export function clipStack(traces: unknown[]): string[] {
  const kept: string[] = []
  let total = 0
  for (let n = traces.length - 1; n >= 0 && kept.length < STACK_ENTRIES; n--) {
    const trace = traces[n]
    if (typeof trace !== 'string' || trace.length === 0) continue
    if (kept.length > 0 && total + trace.length > FAILED_JOB_LIMITS.stack) break
    const clipped = clip(trace, FAILED_JOB_LIMITS.stack)
    kept.unshift(clipped)
    total += clipped.length
  }
  return kept
}

/**
 * Serialized size in UTF-8 bytes, the unit Redis and the console's length check use (a character
 * count would let non-ASCII text slip past the bound).
 */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8')
}

/**
 * Trims failed-job detail until the snapshot fits in `maxBytes`: first long stacks and payloads
 * are shortened on every job, then the oldest failed jobs of the longest lists are dropped. Counts
 * and errors are always kept. Mutates and returns the snapshot.
 *
 * Cost stays bounded whatever the input: jobs are first dropped by a lower bound of their size
 * (string lengths, no serializing), and only what is left (about `maxBytes` of text) is measured
 * exactly. A job is counted with a comma after it, so totals are never below the real size.
 */
export function fitSnapshot(snapshot: QueueSnapshot, maxBytes: number = MAX_VALUE_BYTES): QueueSnapshot {
  const lists = snapshot.queues.map((queue) => queue.failedJobs).filter((jobs): jobs is FailedJob[] => jobs !== undefined && jobs.length > 0)
  if (lists.length === 0) return snapshot
  const budget = maxBytes - jsonBytes({ ...snapshot, queues: snapshot.queues.map((queue) => (queue.failedJobs ? { ...queue, failedJobs: [] } : queue)) })
  const exactSize = (job: FailedJob) => jsonBytes(job) + 1

  if (total(lists, lowerBound) <= budget && total(lists, exactSize) <= budget) return snapshot
  for (const jobs of lists) jobs.splice(0, jobs.length, ...jobs.map(shortenJob))
  dropOldest(lists, lowerBound, budget)
  dropOldest(lists, exactSize, budget)
  return snapshot
}

/** Bytes a job takes at least: one per UTF-16 unit of its text (UTF-8 and JSON escapes only add). */
function lowerBound(job: FailedJob): number {
  let units = job.id.length + (job.name?.length ?? 0) + (job.failedReason?.length ?? 0) + (job.data?.length ?? 0)
  for (const trace of job.stacktrace ?? []) units += trace.length
  return units
}

function total(lists: FailedJob[][], sizeOf: (job: FailedJob) => number): number {
  let sum = 0
  for (const jobs of lists) for (const job of jobs) sum += sizeOf(job)
  return sum
}

/** Pops the last (oldest) job of the longest list until the sizes fit the budget. */
function dropOldest(lists: FailedJob[][], sizeOf: (job: FailedJob) => number, budget: number): void {
  const sizes = lists.map((jobs) => jobs.map(sizeOf))
  let sum = sizes.reduce((all, list) => all + list.reduce((a, b) => a + b, 0), 0)
  while (sum > budget) {
    let longest = -1
    for (let n = 0; n < lists.length; n++) {
      if (lists[n]!.length > 0 && (longest < 0 || lists[n]!.length > lists[longest]!.length)) longest = n
    }
    if (longest < 0) return
    lists[longest]!.pop()
    sum -= sizes[longest]!.pop()!
  }
}

const SHORT_STACK = 2048
const SHORT_DATA = 1024

function shortenJob(job: FailedJob): FailedJob {
  const short: FailedJob = { ...job }
  if (job.stacktrace && job.stacktrace.length > 0) short.stacktrace = [clip(job.stacktrace[job.stacktrace.length - 1]!, SHORT_STACK)]
  if (job.data !== undefined) short.data = clip(job.data, SHORT_DATA)
  if (job.failedReason !== undefined) short.failedReason = clip(job.failedReason, SHORT_STACK / 2)
  return short
}
