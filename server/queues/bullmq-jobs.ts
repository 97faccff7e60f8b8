/**
 * A failed BullMQ job as the protocol shows it, from the fields of its hash: cut to the
 * protocol's failed-job limits, and a field too large to read replaced by its size, worded as the
 * SDK words it (PROTOCOL.md).
 */
import { FAILED_JOB_LIMITS, type FailedJob } from '@gravito/quasar/protocol'
import { truncate } from './text.js'

/** fields measured (HSTRLEN) before they are read */
export const LARGE_FIELDS = ['data', 'stacktrace', 'failedReason'] as const
export type LargeField = (typeof LARGE_FIELDS)[number]

/**
 * `small` holds the hash's `name`, `atm`, `attemptsMade`, `finishedOn`; `large` the large fields
 * that were read, `sizes` the byte size of each (0: absent).
 */
export function failedJobOf(id: string, failedAt: number, small: (string | null)[], sizes: Record<LargeField, number>, large: Partial<Record<LargeField, string>>): FailedJob {
  const [name, atm, attemptsMade, finishedOn] = small
  const job: FailedJob = { id: truncate(id, 256) }
  if (name) job.name = truncate(name, 256)
  const attempts = Number(attemptsMade ?? atm)
  if (Number.isInteger(attempts) && attempts >= 0) job.attemptsMade = attempts
  const when = Number(finishedOn ?? failedAt)
  if (Number.isFinite(when) && when >= 0) job.timestamp = when
  if (large.failedReason !== undefined) job.failedReason = truncate(large.failedReason, FAILED_JOB_LIMITS.reason)
  else if (sizes.failedReason > 0) job.failedReason = tooLarge(sizes.failedReason)
  if (large.data !== undefined) job.data = truncate(large.data, FAILED_JOB_LIMITS.data)
  else if (sizes.data > 0) job.data = tooLarge(sizes.data)
  if (large.stacktrace !== undefined) job.stacktrace = stackOf(large.stacktrace)
  else if (sizes.stacktrace > 0) job.stacktrace = [tooLarge(sizes.stacktrace)]
  return job
}

function tooLarge(bytes: number): string {
  return `[${bytes} bytes, too large to show]`
}

/** BullMQ keeps one trace per attempt, as a JSON array; the newest last. */
function stackOf(raw: string): string[] {
  try {
    const parsed: unknown = JSON.parse(raw)
    if (Array.isArray(parsed)) {
      return parsed
        .filter((entry): entry is string => typeof entry === 'string' && entry !== '')
        .slice(-10)
        .map((entry) => truncate(entry, FAILED_JOB_LIMITS.stack))
    }
  } catch {
    // not JSON: shown as it is below
  }
  return [truncate(raw, FAILED_JOB_LIMITS.stack)]
}
