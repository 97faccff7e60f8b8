/**
 * Bounds on what a queue snapshot carries. The protocol caps each field (FAILED_JOB_LIMITS), and
 * the console skips any value over MAX_VALUE_BYTES unread, so a snapshot that grew past it would
 * hide every queue of the service: `fitSnapshot` trims failed-job detail until it fits, and never
 * drops a queue's counts.
 */
import { FAILED_JOB_LIMITS, MAX_VALUE_BYTES, type FailedJob, type QueueSnapshot } from '../protocol/index.js'

export const ERROR_LIMIT = 512
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

/** Keeps the newest `STACK_ENTRIES` traces, each within the protocol bound. */
export function clipStack(traces: unknown[]): string[] {
  return traces
    .filter((trace): trace is string => typeof trace === 'string' && trace.length > 0)
    .slice(-STACK_ENTRIES)
    .map((trace) => clip(trace, FAILED_JOB_LIMITS.stack))
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
 */
export function fitSnapshot(snapshot: QueueSnapshot, maxBytes: number = MAX_VALUE_BYTES): QueueSnapshot {
  let size = jsonBytes(snapshot)
  if (size <= maxBytes) return snapshot

  for (const queue of snapshot.queues) {
    queue.failedJobs = queue.failedJobs?.map(shortenJob)
  }
  size = jsonBytes(snapshot)

  while (size > maxBytes) {
    let longest: FailedJob[] | undefined
    for (const queue of snapshot.queues) {
      if (queue.failedJobs && queue.failedJobs.length > 0 && (!longest || queue.failedJobs.length > longest.length)) {
        longest = queue.failedJobs
      }
    }
    if (!longest) break
    const dropped = longest.pop()!
    // exact for every element but the last of a list (no comma), so the estimate errs by one byte
    // at most; the final measure below settles it
    size -= jsonBytes(dropped) + 1
    if (size <= maxBytes) size = jsonBytes(snapshot)
  }
  return snapshot
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
