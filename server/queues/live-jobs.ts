/**
 * Jobs still in a queue's own Redis, read on demand (not by the collector): a page of one state,
 * or one job in full. Discovered queues are read directly (read-only); agent queues through the
 * signed, read-only LIST_JOBS request their agent answers. The queue page, the jobs search (its
 * live half) and the job detail all read through `app.liveJobs`.
 */
import type { QueueRecord } from './records.js'

/** Every state a job can be listed in; a driver that cannot list one answers with an `error`. */
export const LIVE_JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'completed', 'failed'] as const
export type LiveJobState = (typeof LIVE_JOB_STATES)[number]

/** Rows per page of a queue's state list. */
export const LIVE_JOBS_PAGE_SIZE = 50

/** A job in a list: never its payload. */
export interface LiveJob {
  id: string
  name: string | null
  state: LiveJobState
  /** attempts made so far */
  attemptsMade: number | null
  addedAt: number | null
  startedAt: number | null
  finishedAt: number | null
  /** delayed: when it becomes due */
  dueAt?: number | null
  failedReason?: string | null
}

/** One job in full, bounded like an archive record (see JOB_RECORD_LIMITS). */
export interface LiveJobDetail extends LiveJob {
  /** JSON text, bounded and redacted */
  data: string | null
  opts: string | null
  result: string | null
  /** one trace per failed attempt, oldest first */
  stacks: string[]
  /** the job's log lines (BullMQ `job.log`), newest last, bounded */
  logs: string[]
}

export interface LiveJobPage {
  jobs: LiveJob[]
  state: LiveJobState
  /** 1-based */
  page: number
  pageSize: number
  /** jobs in this state, when the driver can count them */
  total: number | null
  /** why the page could not be read (no agent answered, driver cannot list this state…) */
  error?: string
}

export interface LiveJobReader {
  list(record: QueueRecord, state: LiveJobState, page: number): Promise<LiveJobPage>
  /** null: the queue no longer holds this job (look in the archive) */
  get(record: QueueRecord, jobId: string): Promise<LiveJobDetail | null>
}
